/**
 * A passing `npm test` reads clean: the fixtures that crash on purpose exit with their code and
 * print nothing (no stack trace, no "crashing" line) into the run. Each is run the way the suite
 * runs it (node --import tsx), with its stderr captured here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'clusterbus-quiet-'));
const crashFile = join(dir, 'crash');
writeFileSync(crashFile, '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a fixture without IPC and resolves with its exit and everything it printed. */
function run(name: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; signal: string | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixturePath(name)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

describe('fixtures that crash on purpose', () => {
  it.each([
    ['http-broken.ts', {}, 1],
    ['supervisor-worker.ts', { CRASH_FILE: crashFile }, 3],
    ['boot-crash-worker.ts', { EXIT_CODE: '7' }, 7],
  ] as const)('%s exits with its code and prints nothing', async (name, env, code) => {
    const result = await run(name, env);
    expect(result).toEqual({ code, signal: null, output: '' });
  });
});
