/** The examples run as documented (against the built package) and print what they claim. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const example = (path: string) => fileURLToPath(new URL(`../examples/${path}`, import.meta.url));

describe('examples', () => {
  it('demo: calls both ways, a broadcast, a gather and typed errors', async () => {
    const { stdout } = await run(process.execPath, [example('demo/primary.mjs')], { timeout: 20_000 });
    expect(stdout).toMatch(/Hello, Ada! \(from worker 1, pid \d+\)/);
    expect(stdout).toMatch(/worker \d got "announce" from primary: deploy at noon/);
    expect(stdout).toMatch(/worker \d: \{"pid":\d+,"served":1/);
    expect(stdout).toContain(
      'VALIDATION: input of call "greet" failed validation on the primary before sending at "name"',
    );
    expect(stdout).toContain(
      'REMOTE: call "explode" to worker 1 failed: Error: the flux capacitor is out of flux',
    );
    expect(stdout).toContain('ABORTED: call "greet" to worker 1 was aborted before it was sent');
    expect(stdout).toMatch(/PEER_GONE after \d+ ms: call "nap" to worker 2 failed: worker 2 is gone/);
    expect(stdout.trim().endsWith('done.')).toBe(true);
  });

  it('cache-invalidation: broadcasts keep every worker cache fresh, stats are gathered from all', async () => {
    const { stdout } = await run(process.execPath, [example('cache-invalidation/primary.mjs')], {
      timeout: 20_000,
      env: { ...process.env, WORKERS: '3' },
    });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('3 workers ready');
    expect(lines[2]).toBe('read user:1   → Ada (cached) | Ada (cached) | Ada (cached)');
    expect(lines[3]).toBe('invalidated user:1 on workers 1, 2, 3');
    expect(lines[4]).toBe('read user:1   → Ada Lovelace | Ada Lovelace | Ada Lovelace');
    expect(lines[5]).toBe('read user:2   → Grace Hopper (cached) | Grace Hopper | Grace Hopper');
    expect(lines.filter((line) => /worker \d \(pid \d+\): \{"size":2/.test(line))).toHaveLength(3);
  });
});
