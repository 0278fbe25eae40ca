import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScriptError } from '../../../scripts/lib/errors.mjs';
import { isAlive, isOurProcess, terminatePid } from '../../../scripts/lib/pids.mjs';
import { runCommand, startChild, waitUntilReady } from '../../../scripts/lib/processes.mjs';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'scripts-lib-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('startChild', () => {
  it('should hand over its output line by line and settle with its exit status', async () => {
    const lines: string[] = [];
    const child = startChild('sh', ['-c', 'echo one; echo two >&2; exit 3'], {
      output: { onLine: (line, stream) => lines.push(`${stream}:${line}`) },
    });
    expect(await child.exited).toEqual({ code: 3, signal: null });
    await waitFor(() => lines.length === 2, { timeoutMs: 2_000 });
    expect(lines.sort()).toEqual(['stderr:two', 'stdout:one']);
    expect(child.running).toBe(false);
    expect(child.tail()).toContain('one');
  });

  it('should let the child write its log file itself, and show its last lines from there', async () => {
    const file = join(dir, 'child.log');
    const child = startChild('sh', ['-c', 'for i in 1 2 3 4 5; do echo line $i; done'], { output: { file } });
    await child.exited;
    expect(child.tail(2)).toBe('line 4\nline 5');
  });

  it('should throw a ScriptError when the command cannot be started', () => {
    expect(() => startChild(join(dir, 'no-such-program'), [])).toThrow(ScriptError);
  });

  it('should SIGKILL a child that ignores the stop signal once the bound has passed', async () => {
    // exec: the shell becomes the sleep, so the ignored SIGTERM and the SIGKILL reach one process.
    const child = startChild('sh', ['-c', 'trap "" TERM; echo ready; exec sleep 30'], { output: { onLine: () => {} } });
    await waitUntilReady('the trap', async () => child.tail().includes('ready'), { timeoutMs: 5_000, child });
    expect(await child.stop({ timeoutMs: 200 })).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('should reject waitForExit after its bound and leave the child running', async () => {
    const child = startChild('sleep', ['30']);
    await expect(child.waitForExit(100, ' of nothing')).rejects.toThrow(/did not exit within 100 ms of nothing/);
    expect(child.running).toBe(true);
    expect(await child.stop()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('should kill its children when this process exits, but leave a daemon running', async () => {
    const lib = new URL('../../../scripts/lib/processes.mjs', import.meta.url).href;
    const script = `
      import { startChild } from '${lib}';
      const child = startChild('sleep', ['30']);
      const daemon = startChild('sleep', ['31'], { daemon: true });
      console.log(JSON.stringify({ child: child.pid, daemon: daemon.pid }));
      process.exit(0);`;
    const { code, output } = await runCommand(process.execPath, ['--input-type=module', '-e', script], { timeoutMs: 10_000 });
    expect(code, output).toBe(0);
    const pids = JSON.parse(output) as { child: number; daemon: number };
    try {
      await waitFor(() => !isAlive(pids.child), { timeoutMs: 5_000, what: 'the child to be killed' });
      expect(isOurProcess(pids.daemon, 'sleep 31')).toBe(true);
    } finally {
      process.kill(pids.daemon, 'SIGKILL');
    }
  });
});

describe('waitUntilReady', () => {
  it("should fail at once, with the child's last lines, when the child exits before it is ready", async () => {
    const child = startChild('sh', ['-c', 'echo cannot bind; exit 1'], { name: 'server', output: { onLine: () => {} } });
    const started = Date.now();
    const error = await waitUntilReady('server', async () => false, { timeoutMs: 30_000, child }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScriptError);
    expect((error as Error).message).toMatch(/server exited \(exit code 1\) before it was ready[\s\S]*cannot bind/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('should fail after its bound when the child never gets ready, and count a throwing check as not ready', async () => {
    const child = startChild('sleep', ['30']);
    const check = async () => {
      throw new Error('connection refused');
    };
    await expect(waitUntilReady('sleeper', check, { timeoutMs: 300, child })).rejects.toThrow(/sleeper not ready after 300 ms/);
    await child.stop();
  });
});

describe('pid files', () => {
  it('should not take a live process with another command line for ours', async () => {
    const child = startChild('sleep', ['30']);
    expect(isOurProcess(child.pid, 'sleep 30')).toBe(true);
    expect(isOurProcess(child.pid, 'kafka.Kafka')).toBe(false);
    expect(await terminatePid(child.pid, { timeoutMs: 5_000 })).toMatch(/^stopped in /);
    await child.exited; // reaped: its pid names nothing now
    expect(await terminatePid(child.pid, { timeoutMs: 5_000 })).toBe('gone');
  });
});
