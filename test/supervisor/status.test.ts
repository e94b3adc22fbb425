/**
 * status() columns (uptime, CPU, memory, event-loop delay) from the sampler, a worker stuck in
 * synchronous code still reported from the OS, crash-looped slots kept as `stopped` rows with a
 * warning when nobody listens, and the lifecycle log lines.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LiveWorkerStatus, Supervisor } from '../../src/index.js';
import { liveStatus, nextEvent, useClusters } from './cluster-helpers.js';

const start = useClusters();

/** Polls `status()` until `predicate` holds for every live row. */
async function waitForRows(
  cluster: Supervisor<any>,
  predicate: (row: LiveWorkerStatus) => boolean,
  timeoutMs = 15_000,
): Promise<LiveWorkerStatus[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rows = liveStatus(cluster);
    if (rows.length > 0 && rows.every(predicate)) return rows;
    if (Date.now() > end) throw new Error(`status rows never matched: ${JSON.stringify(rows)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('status columns', { timeout: 90_000 }, () => {
  it('reports uptime, CPU %, memory (rss, heapUsed) and event-loop delay per worker', async () => {
    const cluster = await start('busy-worker.ts', { sampleInterval: 200 });
    const rows = await waitForRows(
      cluster,
      (r) => r.cpu !== undefined && r.memory?.heapUsed !== undefined && r.eventLoopDelay !== undefined,
    );
    for (const row of rows) {
      expect(row.uptime).toBeGreaterThan(0);
      expect(row.uptime).toBeLessThanOrEqual(Date.now() - row.startedAt + 1);
      expect(row.cpu).toBeGreaterThanOrEqual(0);
      expect(row.memory!.rss).toBeGreaterThan(10 * 1024 * 1024); // a node process
      expect(row.memory!.heapUsed).toBeGreaterThan(0);
      expect(row.memory!.heapUsed).toBeLessThan(row.memory!.rss);
      expect(row.eventLoopDelay).toBeGreaterThanOrEqual(0);
    }
  });

  it('a worker stuck in synchronous code still gets its row: CPU and RSS from the OS, its silence as event-loop delay', async () => {
    const cluster = await start('busy-worker.ts', { size: 1, sampleInterval: 200 });
    const [before] = await waitForRows(cluster, (r) => r.cpu !== undefined && r.eventLoopDelay !== undefined);
    cluster.status(); // sampled without asking the worker anything through the user's contract
    const worker = (await import('node:cluster')).default.workers?.[String(before!.id)];
    worker!.send({ block: 6_000 });
    const [stuck] = await waitForRows(cluster, (r) => (r.eventLoopDelay ?? 0) > 1_000 && (r.cpu ?? 0) > 2);
    expect(stuck!.id).toBe(before!.id);
    expect(stuck!.memory!.rss).toBeGreaterThan(0);
    // status() answered while the worker was stuck: it never waits for a worker.
    const started = performance.now();
    cluster.status();
    expect(performance.now() - started).toBeLessThan(1_000); // far below the 6 s the worker is stuck
  });

  it('sampleInterval: 0 turns the sampler off (the columns stay undefined)', async () => {
    const cluster = await start('busy-worker.ts', { size: 1, sampleInterval: 0 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(liveStatus(cluster)[0]).toMatchObject({
      cpu: undefined,
      memory: undefined,
      eventLoopDelay: undefined,
    });
  });
});

describe('crash loops', { timeout: 90_000 }, () => {
  it('without any listener or log, a crash loop is one process warning, and the slot keeps a stopped row', async () => {
    const crashFile = join(tmpdir(), `clusterbus-quiet-loop-${process.pid}-${Date.now()}`);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const cluster = await start('supervisor-worker.ts', {
        env: { CRASH_FILE: crashFile },
        backoff: { min: 20, max: 50 },
        crashBudget: { crashes: 2, window: 60_000 },
      });
      const [victim] = liveStatus(cluster);
      writeFileSync(crashFile, '');
      process.kill(victim!.pid!, 'SIGKILL');
      const end = Date.now() + 20_000;
      while (cluster.crashLoopedSlots().length === 0 && Date.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'CLUSTERBUS_CRASH_LOOP');
      expect(ours).toHaveLength(1);
      expect(ours[0]!.message).toMatch(new RegExp(`slot ${victim!.slot} crashed 2 times`));
      expect(cluster.status().find((r) => r.slot === victim!.slot)).toMatchObject({
        state: 'stopped',
        id: undefined,
        pid: undefined,
      });
    } finally {
      process.off('warning', onWarning);
      rmSync(crashFile, { force: true });
    }
  });
});

describe('lifecycle log', { timeout: 90_000 }, () => {
  it('tells start, an unexpected exit and its respawn, reload, scale and shutdown to the logger, one line each', async () => {
    const lines: Array<[string, string]> = [];
    const logger = {
      info: (msg: string) => lines.push(['info', msg]),
      warn: (msg: string) => lines.push(['warn', msg]),
      error: (msg: string) => lines.push(['error', msg]),
    };
    const cluster = await start('supervisor-worker.ts', { log: true, logger, backoff: { min: 20, max: 50 } });
    const [victim] = liveStatus(cluster);
    const respawned = nextEvent(cluster, 'workerReady');
    process.kill(victim!.pid!, 'SIGKILL');
    await respawned;
    await cluster.reload();
    await cluster.scale(1);
    await cluster.shutdown();
    const said = lines.map(([level, msg]) => `${level} ${msg}`);
    const expected = [
      /^info started 2 workers \(pids \d+, \d+\) in \d+ ms$/,
      new RegExp(
        `^warn worker ${victim!.id} \\(pid ${victim!.pid}, slot ${victim!.slot}\\) was killed by SIGKILL unexpectedly$`,
      ),
      new RegExp(`^info respawning slot ${victim!.slot} in \\d+ ms \\(attempt 1\\)$`),
      /^info reloading 2 workers/,
      /^info reload done in \d+ ms: 2 workers replaced$/,
      /^info scaled from 2 to 1 workers in \d+ ms \(stopped \d+\)$/,
      /^info shutting down \(shutdown\)/,
      /^info shut down in \d+ ms: 1 worker drained$/,
    ];
    expect(said).toHaveLength(expected.length);
    for (const [i, pattern] of expected.entries()) expect(said[i]).toMatch(pattern);
  });

  it('log: false silences it, even with a logger', async () => {
    const lines: string[] = [];
    const logger = {
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    const cluster = await start('supervisor-worker.ts', { size: 1, log: false, logger });
    await cluster.reload();
    await cluster.shutdown();
    expect(lines).toEqual([]);
  });

  it('rejects a logger without info/warn/error and a non-boolean log, naming the option', async () => {
    await expect(start('supervisor-worker.ts', { logger: { info() {} } as never })).rejects.toThrow(
      /logger must be an object with info, warn and error functions/,
    );
    await expect(start('supervisor-worker.ts', { log: 'yes' as never })).rejects.toThrow(
      /log must be a boolean/,
    );
    await expect(start('supervisor-worker.ts', { prefixOutput: 'x' as never })).rejects.toThrow(
      /prefixOutput must be/,
    );
    await expect(start('supervisor-worker.ts', { sampleInterval: -1 })).rejects.toThrow(/sampleInterval/);
  });
});
