import path from 'node:path';
import { REPO_ROOT } from '../lib/paths.mjs';

/**
 * The stack's two kinds of lines: `info` for progress (silenced by --quiet) and `summary`, exactly
 * one per service and always printed.
 */
export function createOutput({ quiet }) {
  return {
    info: (message) => {
      if (!quiet) console.log(message);
    },
    summary: (message) => console.log(message),
    /** For waitForProbe's onSlow: "<service>: waiting… 5.0s (<what the probe said>)". */
    slow: (service) => (ms, probe) => {
      if (!quiet) console.log(`${service}: waiting… ${(ms / 1000).toFixed(1)}s (${probe.detail || probe.state})`);
    },
  };
}

/** A path as the person at the terminal wants it: relative inside the checkout, absolute outside. */
export function shown(file) {
  const relative = path.relative(REPO_ROOT, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}
