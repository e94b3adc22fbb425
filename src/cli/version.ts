/** The version of the installed package, read from its package.json (found above this file). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The clusterbus version, e.g. `0.1.0`. */
export function packageVersion(): string {
  if (cached) return cached;
  // dist/cli.js and src/cli/version.ts sit at different depths: walk up to our package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'clusterbus' && typeof pkg.version === 'string') {
        cached = pkg.version;
        return cached;
      }
    } catch {
      // No package.json here: keep walking.
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
