/**
 * The load generator's side of STOMP: frames built as plain strings, and a splitter for what
 * comes back that looks only at what the benchmark needs (command, receipt-id, the marker in a
 * MESSAGE body). It is deliberately not the service's parser: the generator must cost far less
 * per frame than any target does, and every target here sends ASCII frames with no NUL in a body.
 *
 * Latency marker: `#<step>.<publisher>.<seq>.<sentMicros>#` inside the body, where sentMicros
 * comes from the monotonic clock (`process.hrtime`, CLOCK_MONOTONIC), which every thread and
 * process on the machine shares, so a sender and a receiver in different workers agree.
 */

/** Microseconds on the machine-wide monotonic clock. */
export function monotonicMicros(): number {
  const [seconds, nanos] = process.hrtime();
  return seconds * 1e6 + nanos / 1e3;
}

export function connectFrame(headers: Record<string, string>): string {
  const lines = ['CONNECT', 'accept-version:1.2', 'heart-beat:0,0'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}:${value}`);
  return `${lines.join('\n')}\n\n\0`;
}

export function subscribeFrame(id: string, destination: string, receipt: string): string {
  return `SUBSCRIBE\nid:${id}\ndestination:${destination}\nack:auto\nreceipt:${receipt}\n\n\0`;
}

/** The constant parts of a SEND, so a message costs two concatenations. */
export interface SendTemplate {
  destination: string;
  contentType: string;
  /** Body = prefix + content + suffix (e.g. a JSON envelope around the content). */
  prefix: string;
  suffix: string;
}

export function sendFrame(template: SendTemplate, content: string, receipt?: string): string {
  const body = template.prefix + content + template.suffix;
  const receiptLine = receipt === undefined ? '' : `receipt:${receipt}\n`;
  return `SEND\ndestination:${template.destination}\ncontent-type:${template.contentType}\ncontent-length:${body.length}\n${receiptLine}\n${body}\0`;
}

/** A `bytes`-long content carrying the latency marker, padded with `x`. */
export function markedContent(step: number, publisher: number, seq: number, bytes: number): string {
  const marker = `#${step}.${publisher}.${seq}.${Math.round(monotonicMicros())}#`;
  return bytes > marker.length ? marker + 'x'.repeat(bytes - marker.length) : marker;
}

export interface Marker {
  step: number;
  publisher: number;
  seq: number;
  sentMicros: number;
}

/** Reads the marker from a frame's body; undefined if there is none. */
export function readMarker(frame: string, from: number): Marker | undefined {
  const start = frame.indexOf('#', from);
  if (start < 0) return undefined;
  const end = frame.indexOf('#', start + 1);
  if (end < 0) return undefined;
  const parts = frame.slice(start + 1, end).split('.');
  if (parts.length !== 4) return undefined;
  return { step: Number(parts[0]), publisher: Number(parts[1]), seq: Number(parts[2]), sentMicros: Number(parts[3]) };
}

export interface IncomingFrame {
  command: string;
  /** The whole frame text without its NUL; headers are read from it on demand. */
  text: string;
  /** Index of the first body character. */
  bodyStart: number;
}

export function headerOf(frame: IncomingFrame, name: string): string | undefined {
  const key = `\n${name}:`;
  const at = frame.text.indexOf(key);
  if (at < 0 || at > frame.bodyStart) return undefined;
  const end = frame.text.indexOf('\n', at + key.length);
  return frame.text.slice(at + key.length, end < 0 ? undefined : end).replace(/\r$/, '');
}

/** Reassembles frames from WebSocket messages of any size; heart-beat EOLs are skipped. */
export class FrameSplitter {
  private pending = '';

  push(data: Buffer | string, onFrame: (frame: IncomingFrame) => void): void {
    const text = this.pending + (typeof data === 'string' ? data : data.toString('latin1'));
    this.pending = '';
    let start = 0;
    for (;;) {
      while (start < text.length && (text.charCodeAt(start) === 10 || text.charCodeAt(start) === 13)) start += 1;
      if (start >= text.length) return;
      const end = text.indexOf('\0', start);
      if (end < 0) {
        this.pending = text.slice(start);
        return;
      }
      const frame = text.slice(start, end);
      const commandEnd = frame.indexOf('\n');
      const headersEnd = frame.indexOf('\n\n');
      const crlfEnd = frame.indexOf('\r\n\r\n');
      const bodyStart = headersEnd >= 0 ? headersEnd + 2 : crlfEnd >= 0 ? crlfEnd + 4 : frame.length;
      onFrame({ command: (commandEnd < 0 ? frame : frame.slice(0, commandEnd)).replace(/\r$/, ''), text: frame, bodyStart });
      start = end + 1;
    }
  }
}
