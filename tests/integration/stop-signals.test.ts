import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteTestTopics } from '../helpers/kafka.js';
import {
  alive,
  buildForNpmStart,
  commandLine,
  listeningPort,
  portFree,
  startProcessGroup,
  type ProcessGroup,
} from '../helpers/process-group.js';
import { dropDatabase } from '../helpers/services.js';
import { testEnv } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 1, as a user or a supervisor stops the service: `npm run dev` and `npm start`,
 * each the leader of a process group of its own, get one signal sent to the whole group (what a
 * terminal's Ctrl-C, systemd's KillMode=control-group, `timeout` and `kill -- -PGID` do). Every
 * layer hears it; npm and the dev wrapper forward it too. It must still be one graceful stop: one
 * "shutting down", no "second signal", "shutdown complete", every process gone and the port free
 * within SHUTDOWN_TIMEOUT_MS. The second-signal half (a slow drain) is in tests/faults.
 */
const SHUTDOWN_TIMEOUT_MS = 15_000;
const isolation = testEnv({ LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
const groups: ProcessGroup[] = [];
let build: ReturnType<typeof buildForNpmStart> | undefined;

beforeAll(() => {
  build = buildForNpmStart();
}, 120_000);

afterAll(async () => {
  for (const group of groups) group.kill();
  build?.remove();
  await deleteTestTopics(isolation.env.KAFKA_TOPIC_PREFIX!).catch(() => {});
  await dropDatabase(isolation.databaseUrl).catch(() => {});
});

// npm runs a script with `sh -c`. Debian's dash waits for the command, so only npm's own forward
// reaches it; bash (macOS's and Fedora's sh) execs the command, so the server gets npm's copy of
// the signal as well as the group's.
const commands = {
  'npm run dev': { args: ['run', 'dev'], cwd: () => undefined, env: {} },
  'npm start': { args: ['start'], cwd: () => build!.cwd, env: {} },
  'npm start with bash as the script shell': { args: ['start'], cwd: () => build!.cwd, env: { npm_config_script_shell: '/bin/bash' } },
} as const;

describe('npm run dev, the first five minutes (issue 16 item 6)', () => {
  it("should keep stdout to the server's JSON lines and print the banner on stderr when stdout is not a terminal", async () => {
    const group = startProcessGroup('npm', ['run', 'dev'], { env: isolation.env });
    groups.push(group);
    await group.waitForLine(/chat-backend is running/, 90_000);
    const port = listeningPort(group)!;
    const stderr = group.lines
      .filter((line) => line.stream === 'stderr')
      .map((line) => line.text)
      .join('\n');
    for (const part of [`http://localhost:${port}/`, `http://localhost:${port}/docs`, `http://localhost:${port}/actuator/health`, 'Ctrl-C'])
      expect(stderr).toContain(part);
    // npm's own two header lines ("> chat-backend@… dev") are all that is not the server's log.
    const notJson = group.lines.filter(
      (line) =>
        line.stream === 'stdout' &&
        line.text.trim() !== '' &&
        !line.text.startsWith('> ') &&
        line.msg === undefined &&
        !/^\{.*\}$/.test(line.text),
    );
    expect(notJson).toEqual([]);
    expect(group.lines.filter((line) => line.stream === 'stdout' && line.text.startsWith('{')).length).toBeGreaterThan(5);
    const tree = group.tree();
    group.signal('SIGINT');
    await waitFor(() => tree.every((pid) => !alive(pid)), { timeoutMs: SHUTDOWN_TIMEOUT_MS, intervalMs: 50, what: 'npm run dev to exit' });
  }, 150_000);

  it('should pretty-print in a terminal and end cleanly at one Ctrl-C typed into it', async () => {
    // util-linux `script` runs the command on a new pseudo-terminal; a 0x03 byte written to it is
    // the terminal's Ctrl-C, which the line discipline turns into SIGINT for the foreground group.
    const group = startProcessGroup('script', ['-qefc', 'npm run dev', '/dev/null'], { env: isolation.env, stdin: true });
    groups.push(group);
    const page = await group.waitForLine(/chat page\s+http:\/\/localhost:\d+\//, 90_000);
    const port = Number(/localhost:(\d+)/.exec(page.text)![1]);
    expect(group.lines.some((line) => /INFO.*Server listening at/.test(line.text))).toBe(true);
    expect(group.lines.filter((line) => line.text.startsWith('{"level"'))).toEqual([]);
    const tree = group.tree();

    group.write('\u0003');
    await waitFor(() => tree.every((pid) => !alive(pid)), {
      timeoutMs: SHUTDOWN_TIMEOUT_MS,
      intervalMs: 50,
      what: 'every process under the terminal to exit',
    });
    expect(await portFree(port)).toBe(true);
    const said = (text: string) => group.lines.filter((line) => line.text.includes(text)).length;
    expect(said('shutting down')).toBe(1);
    expect(said('shutdown complete')).toBe(1);
    expect(said('second signal')).toBe(0);
  }, 150_000);
});

describe.each(Object.keys(commands) as (keyof typeof commands)[])('%s in a process group of its own', (name) => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'should stop gracefully once, leave no process behind and free the port when the group gets one %s',
    async (signal) => {
      const group = startProcessGroup('npm', [...commands[name].args], {
        env: { ...isolation.env, ...commands[name].env },
        cwd: commands[name].cwd(),
      });
      groups.push(group);
      await group.waitForLine(/Server listening at/, 90_000);
      const port = listeningPort(group)!;
      const tree = group.tree();
      const names = tree.map(commandLine);
      expect(
        names.some((line) => /main\.(ts|js)/.test(line)),
        names.join('\n'),
      ).toBe(true);

      const signalledAt = Date.now();
      group.signal(signal);
      await waitFor(() => tree.every((pid) => !alive(pid)), {
        timeoutMs: SHUTDOWN_TIMEOUT_MS,
        intervalMs: 50,
        what: `every process of ${name} to exit`,
      });
      const goneMs = Date.now() - signalledAt;
      expect(await portFree(port)).toBe(true);

      expect(group.messages('shutting down')).toHaveLength(1);
      expect(group.messages('second signal: forcing exit')).toHaveLength(0);
      expect(group.messages('shutdown complete')).toHaveLength(1);
      expect(group.lines.find((line) => line.msg === 'shutting down')!.text).toContain(`"signal":"${signal}"`);
      console.info(
        `${name}: ${tree.length} processes (${names.map((line) => line.slice(0, 40)).join(' | ')}), all gone ${goneMs} ms after one ${signal} to the group`,
      );
    },
    150_000,
  );
});
