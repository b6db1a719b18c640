import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

/** This package's version (from package.json next to dist/), or "unknown" if it cannot be read. */
export function agentVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
      cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
