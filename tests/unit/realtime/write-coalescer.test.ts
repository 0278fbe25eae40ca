import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createWriteCoalescer } from '../../../src/realtime/realtime.js';

/** A socket stand-in that records every write it is asked to make to the wire. */
function recordingSocket() {
  const writes: string[][] = [];
  const socket = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push([chunk.toString()]);
      callback();
    },
    writev(chunks, callback) {
      writes.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      callback();
    },
  });
  return { socket, writes };
}

describe('write coalescer', () => {
  it('should send the frames written to a socket in one turn in one write, in order', async () => {
    const coalesce = createWriteCoalescer();
    const { socket, writes } = recordingSocket();
    for (const frame of ['a', 'b', 'c']) {
      coalesce(socket as never);
      socket.write(frame);
    }
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual([['a', 'b', 'c']]);
  });

  it('should flush every socket corked in a turn, and cork again in the next', async () => {
    const coalesce = createWriteCoalescer();
    const first = recordingSocket();
    const second = recordingSocket();
    coalesce(first.socket as never);
    first.socket.write('1');
    coalesce(second.socket as never);
    second.socket.write('2');
    await nextTurn();
    expect(first.writes).toEqual([['1']]);
    expect(second.writes).toEqual([['2']]);

    coalesce(first.socket as never);
    first.socket.write('3');
    coalesce(first.socket as never);
    first.socket.write('4');
    await nextTurn();
    expect(first.writes).toEqual([['1'], ['3', '4']]);
  });

  it('should leave a destroyed or missing socket alone', async () => {
    const coalesce = createWriteCoalescer();
    const { socket } = recordingSocket();
    socket.destroy();
    coalesce(socket as never);
    expect(socket.writableCorked).toBe(0);
    expect(() => coalesce(undefined)).not.toThrow();
    await nextTurn();
  });
});
