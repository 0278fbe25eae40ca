// `npm run dev`: a working server on a fresh machine with no configuration. Brings the local
// stack up if needed, supplies a throwaway JWT secret (and says so), then runs src/main.ts, which
// migrates the database and creates the Kafka topics at start-up. Its logs are pretty-printed when
// stdout is a terminal and stay pino's JSON lines otherwise; its own notes and the banner go to
// stderr, so stdout carries nothing but the server's log.
//
// Signals: `npm run dev` is npm → sh → this process → the server. A terminal's Ctrl-C reaches every
// process of the foreground group at once, and npm forwards it again. The server therefore runs in
// a process group of its own and hears each stop request exactly once, from here: copies of one
// signal are one request (src/shutdown/signal-gate.ts), a second request forces the stop.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { prettyFactory } from 'pino-pretty';
import { createSignalGate } from '../src/shutdown/signal-gate.js';
import { exitBySignal } from '../src/shutdown/stop-on-signal.js';
import { devBanner, findKafkaUi, listeningUrl } from './dev-banner.js';

const note = (line: string) => process.stderr.write(`dev: ${line}\n`);
// A terminal that went away must not take this process down before the server has stopped.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

const stack = spawnSync(process.execPath, ['scripts/stack.mjs', 'up'], { stdio: ['inherit', 2, 'inherit'] });
if (stack.status !== 0) process.exit(stack.status ?? 1);

const env = { ...process.env };
env.NODE_ENV ??= 'development';
if (!env.JWT_SECRET) {
  env.JWT_SECRET = randomBytes(32).toString('base64url');
  note('JWT_SECRET is not set; using a throwaway secret (tokens die with this process). Set JWT_SECRET to keep them.');
}

const prettyLogs = process.stdout.isTTY === true;
const pretty = prettyLogs
  ? prettyFactory({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,instance' })
  : undefined;

const server = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/dev-child-guard.mjs', 'src/main.ts'], {
  env,
  detached: true,
  stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
});
server.once('error', (error) => {
  note(`could not start the server: ${error.message}`);
  process.exit(1);
});

let announced = false;
createInterface({ input: server.stdout!, crlfDelay: Infinity }).on('line', (line) => {
  process.stdout.write(pretty ? pretty(line) : `${line}\n`);
  const baseUrl = announced ? undefined : listeningUrl(line);
  if (!baseUrl) return;
  announced = true;
  void findKafkaUi().then((kafkaUiUrl) => process.stderr.write(`${devBanner({ baseUrl, kafkaUiUrl, prettyLogs })}\n`));
});
server.stderr!.pipe(process.stderr);

const gate = createSignalGate();
const relay = (signal: NodeJS.Signals) => {
  if (gate.classify(signal) === 'duplicate') return;
  if (server.exitCode === null && server.signalCode === null) server.kill(signal);
};
process.on('SIGINT', () => relay('SIGINT'));
process.on('SIGTERM', () => relay('SIGTERM'));
// The terminal closed: the server, outside the terminal's group, hears of it only from here.
process.on('SIGHUP', () => relay('SIGTERM'));

// 'close', not 'exit': the server's last log lines are still in the pipe when it exits.
server.once('close', (code, signal) => {
  if (signal) exitBySignal(signal);
  process.exit(code ?? 1);
});
