/**
 * Smoke test of examples/http-cluster against the built package (dist/, built by `npm test`
 * before vitest runs): serves HTTP, /stats gathers from every worker, SIGHUP reloads, SIGINT
 * drains and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitGone } from '../supervisor/cluster-helpers.js';
import { freePort, get } from './load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
});

describe('examples/http-cluster', () => {
  it('serves on every worker, gathers /stats over the bus, reloads on SIGHUP, exits 0 on SIGINT', async () => {
    expect(existsSync(`${root}dist/index.js`), 'dist/ is missing: run `npm run build` first').toBe(true);
    const port = await freePort();
    const proc = spawn(process.execPath, ['examples/http-cluster/primary.mjs'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), WORKERS: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = proc;
    let output = '';
    const checks = new Set<() => void>();
    proc.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      for (const check of [...checks]) check();
    });
    const waitFor = (pattern: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const timer = setTimeout(() => {
          checks.delete(check);
          reject(new Error(`no ${pattern} in the output within 20 s:\n${output}`));
        }, 20_000);
        const check = () => {
          const match = output.match(pattern);
          if (!match) return;
          clearTimeout(timer);
          checks.delete(check);
          resolve(match);
        };
        checks.add(check);
        check();
      });
    // 'close' (not 'exit'): every line of output has been read by then.
    const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));

    const listening = await waitFor(/2 workers listening on .* \(pids (\d+), (\d+)\)/);
    const pids = [Number(listening[1]), Number(listening[2])];
    const stats = await get(port, '/stats', false);
    expect(stats.status).toBe(200);
    expect(stats.body.workers.map((w: any) => w.stats.pid).sort()).toEqual([...pids].sort());

    proc.kill('SIGHUP');
    const reloaded = await waitFor(/reloaded in \d+ ms; workers: (\d+), (\d+)/);
    const fresh = [Number(reloaded[1]), Number(reloaded[2])];
    for (const pid of fresh) expect(pids).not.toContain(pid);
    expect(fresh).toContain((await get(port, '/', false)).body.pid);

    proc.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/every worker drained/);
    expect(await waitGone(fresh, 2_000)).toEqual([]);
  });
});
