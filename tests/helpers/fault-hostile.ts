import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { StompFrame } from '../../src/stomp/index.js';
import { TEST_JWT_SECRET } from './test-app.js';

export { openTcpStomp, type TcpStompClient } from './raw-stomp-socket.js';

/**
 * Tools for the hostile-input tests: tokens no honest server issues, a WebSocket client that can
 * stop reading its socket (raw-stomp-socket.ts), and a log of every hostile input with the answer it got, written to
 * test-results/faults/ for docs/reliability.md.
 */

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT built by hand: another secret, `alg: none`, any claims. */
export function handMadeToken(claims: Record<string, unknown>, options: { secret?: string; alg?: 'HS256' | 'none' } = {}): string {
  const alg = options.alg ?? 'HS256';
  const head = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  if (alg === 'none') return `${head}.`;
  return `${head}.${createHmac('sha256', options.secret ?? TEST_JWT_SECRET)
    .update(head)
    .digest('base64url')}`;
}

export interface HostileAnswer {
  input: string;
  expected: string;
  answer: string;
}

/** The table docs/reliability.md shows: what was tried and what came back. */
export class AnswerLog {
  readonly answers: HostileAnswer[] = [];
  constructor(private readonly name: string) {}

  record(input: string, expected: string, answer: string): void {
    this.answers.push({ input, expected, answer });
  }

  write(): void {
    mkdirSync('test-results/faults', { recursive: true });
    writeFileSync(`test-results/faults/${this.name}.json`, `${JSON.stringify(this.answers, null, 2)}\n`);
    console.info(`${this.name}:\n${this.answers.map((entry) => `  ${entry.input} -> ${entry.answer}`).join('\n')}`);
  }
}

/** Header value of a frame, or '' (answers are compared as text). */
export const headerOf = (frame: StompFrame | undefined, name: string) => frame?.headers.find(([key]) => key === name)?.[1] ?? '';
