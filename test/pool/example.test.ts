/** Smoke test of examples/task-pool: runs it with tiny numbers against the built package (dist/). */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('examples/task-pool', () => {
  it('hashes through a pool of 1 worker and of 2, and prints both throughputs', async () => {
    expect(existsSync(`${root}dist/index.js`), 'dist/ is missing: run `npm run build` first').toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, ['examples/task-pool/primary.mjs'], {
      cwd: root,
      env: { ...process.env, TASKS: '6', COST: '1024', WORKERS: '2' },
      timeout: 25_000,
      killSignal: 'SIGKILL',
    });
    expect(stdout).toMatch(/ 1 worker\(s\): 6 hashes in [\d.]+ s = [\d.]+ hashes\/s/);
    expect(stdout).toMatch(/ 2 worker\(s\): 6 hashes in [\d.]+ s = [\d.]+ hashes\/s/);
    expect(stdout).toMatch(/speed-up with 2 workers: [\d.]+x/);
  });
});
