import fs from 'node:fs';
import path from 'node:path';
import { ScriptError } from '../lib/errors.mjs';
import { isAlive, readPid } from '../lib/pids.mjs';
import { sleep } from '../lib/wait.mjs';

const HOLD_LIMIT_MS = 300_000;

/**
 * Runs `fn` holding `<stackDir>/up.lock`, so that two `up`s at once (two test runs) never start
 * two brokers. A lock whose holder died is taken over.
 */
export async function withLock(stackDir, out, fn) {
  const lockDir = path.join(stackDir, 'up.lock');
  const pidFile = path.join(lockDir, 'pid');
  fs.mkdirSync(stackDir, { recursive: true });
  const start = Date.now();
  let toldHolder;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(pidFile, String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = readPid(pidFile);
      if (holder && holder !== process.pid && isAlive(holder)) {
        if (Date.now() - start > HOLD_LIMIT_MS) throw new ScriptError(`another "stack up" (pid ${holder}) holds ${lockDir} over 5 minutes`);
        if (toldHolder !== holder) out.info(`waiting for another "stack up" (pid ${holder}) to finish…`);
        toldHolder = holder;
        await sleep(500);
        continue;
      }
      // No holder yet: it may be writing its pid right now, so give it a moment before taking over.
      if (!holder && Date.now() - start < 1000) {
        await sleep(200);
        continue;
      }
      fs.rmSync(lockDir, { recursive: true, force: true });
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}
