/**
 * The same worker file run by the real PM2 in cluster mode (`pm2 start worker -i 2`), PM2 being
 * the cluster primary and no clusterbus primary anywhere: `--wait-ready` gets its 'ready' at once,
 * `pm2 reload` under keep-alive load loses no request (PM2's SIGINT runs the onShutdown hooks,
 * which drain the server), and PM2's 'shutdown' message drains too. PM2 runs with its PM2_HOME in a
 * temp directory, and `pm2 kill` always ends its daemon.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/cluster.js';
import { freePort, startLoad } from '../http/load.js';

const pm2Bin = join(createRequire(import.meta.url).resolve('pm2/package.json'), '..', 'bin', 'pm2');
const home = mkdtempSync(join(tmpdir(), 'clusterbus-pm2-'));
const outFile = join(home, 'worker-lines.jsonl');

/** Runs the pm2 CLI against the temp PM2_HOME; resolves with its wall time. */
function pm2(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [pm2Bin, ...args],
      { env: { ...process.env, PM2_HOME: home, OUT_FILE: outFile, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`pm2 ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(performance.now() - started);
      },
    );
  });
}

/** The JSON lines the workers wrote so far. */
function workerLines(): any[] {
  if (!existsSync(outFile)) return [];
  return readFileSync(outFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function waitForLines(predicate: (lines: any[]) => boolean, what: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!predicate(workerLines())) {
    if (Date.now() > end) throw new Error(`workers never wrote ${what}: ${JSON.stringify(workerLines())}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startArgs(name: string, extra: string[] = []): string[] {
  return [
    'start',
    fixturePath('pm2-entry.mjs'),
    '-i',
    '2',
    '--name',
    name,
    '--node-args=--import tsx',
    '--kill-timeout',
    '5000',
    ...extra,
  ];
}

afterEach(async () => {
  await pm2(['delete', 'all']).catch(() => {});
  rmSync(outFile, { force: true });
});

afterAll(async () => {
  // Always: no PM2 daemon may outlive the run (the global setup checks).
  await pm2(['kill']).catch(() => {});
  rmSync(home, { recursive: true, force: true });
}, 60_000);

describe('under PM2 cluster mode', () => {
  it('pm2 start --wait-ready returns as soon as the workers are ready, not at listen_timeout', async () => {
    const port = await freePort();
    // The daemon's own start-up is paid by the first command, not by the ones measured.
    await pm2(['ping']);
    const plain = await pm2(startArgs('plain'), { PORT: String(port) });
    await waitForLines((lines) => lines.filter((l) => l.event === 'ready').length === 2, 'two ready lines');
    await pm2(['delete', 'plain']);
    rmSync(outFile, { force: true });
    const waited = await pm2(startArgs('waited', ['--wait-ready', '--listen-timeout', '30000']), {
      PORT: String(port),
    });
    const ready = workerLines().filter((l) => l.event === 'ready');
    // With --wait-ready pm2 returns only once both said 'ready': the lines are already there.
    expect(ready).toHaveLength(2);
    for (const line of ready) expect(line).toMatchObject({ ok: true, isReady: true });
    // Missing 'ready' would cost the whole 30 s listen_timeout per worker; telling PM2 costs nothing.
    expect(waited).toBeLessThan(plain + 10_000);
    expect(waited).toBeLessThan(25_000);
    // Calls to a primary fail with a typed error instead of waiting out their timeout.
    await waitForLines((lines) => lines.filter((l) => l.event === 'call').length === 2, 'two call lines');
    for (const call of workerLines().filter((l) => l.event === 'call')) {
      expect(call).toMatchObject({ ok: false, code: 'NO_PRIMARY' });
      expect(call.message).toMatch(/PM2 runs this worker/);
      expect(call.ms).toBeLessThan(10_000); // its own timeout is 20 s
    }
  }, 90_000);

  it('pm2 reload under keep-alive load: zero failed requests, the hooks ran, new pids answer', async () => {
    const port = await freePort();
    await pm2(startArgs('app', ['--wait-ready', '--listen-timeout', '30000']), { PORT: String(port) });
    const before = new Set(
      workerLines()
        .filter((l) => l.event === 'ready')
        .map((l) => l.pid),
    );
    expect(before.size).toBe(2);
    const load = startLoad(port, 8);
    try {
      await load.waitForAnswers(200);
      await pm2(['reload', 'app']);
      await load.waitForAnswers(200);
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
    const hooks = workerLines().filter((l) => l.event === 'hook');
    expect(new Set(hooks.map((h) => h.pid))).toEqual(before);
    for (const hook of hooks) expect(hook).toMatchObject({ reason: 'SIGINT', timeout: 4_800 });
    const last = load.answers.slice(-50).map((a) => a.pid);
    for (const pid of last) expect(before.has(pid)).toBe(false);
  }, 120_000);

  it("PM2's 'shutdown' message (shutdown_with_message) drains the worker like a signal", async () => {
    const port = await freePort();
    await pm2(startArgs('msg', ['--wait-ready', '--shutdown-with-message']), { PORT: String(port) });
    await pm2(['stop', 'msg']);
    await waitForLines((lines) => lines.filter((l) => l.event === 'hook').length === 2, 'two hook lines');
    for (const hook of workerLines().filter((l) => l.event === 'hook')) {
      expect(hook).toMatchObject({ reason: 'shutdown' });
    }
  }, 90_000);
});
