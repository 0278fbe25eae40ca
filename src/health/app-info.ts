import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  name: string;
  version: string;
}

/**
 * Name and version from the project's package.json, found by walking up from this file, so it
 * works from src/ (tsx), dist/src/ (node) and the container image alike.
 */
export function readPackageInfo(start = dirname(fileURLToPath(import.meta.url))): PackageInfo {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const parsed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Partial<PackageInfo>;
      if (parsed.name && parsed.version) return { name: parsed.name, version: parsed.version };
    } catch {
      // Not here: keep climbing.
    }
    if (dirname(dir) === dir) return { name: 'chat-backend', version: 'unknown' };
  }
}
