/**
 * The reload strategy: a canary first (alone, ready and through its probation before any old
 * worker drains), then parallel batches; never fewer serving workers than `size`; a canary that
 * dies in its probation aborts with every old worker still serving.
 */
import { describe, expect, it } from 'vitest';
import { defaultParallel } from '../../src/supervisor/options.js';
import { planBatches } from '../../src/supervisor/reload.js';
import { liveStatus, recordEvents, useClusters } from './cluster-helpers.js';

const start = useClusters();

describe('reload strategy', { timeout: 90_000 }, () => {
  it('plans a canary, then batches of `parallel`; the default parallel is a quarter of the size, at least 2', () => {
    expect(planBatches([0, 1, 2, 3, 4, 5], { canary: true, parallel: 2 })).toEqual([
      [0],
      [1, 2],
      [3, 4],
      [5],
    ]);
    expect(planBatches([0, 1, 2], { canary: false, parallel: 2 })).toEqual([[0, 1], [2]]);
    expect(planBatches([0], { canary: true, parallel: 4 })).toEqual([[0]]);
    expect([1, 2, 4, 8, 16, 32].map(defaultParallel)).toEqual([2, 2, 2, 2, 4, 8]);
  });

  it('canary first, then the rest in one parallel batch, never fewer than size serving', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 4, probation: 300 });
    const oldIds = new Set(liveStatus(cluster).map((r) => r.id));
    const events = recordEvents(cluster, ['workerFork', 'workerReady', 'workerDraining', 'reloadStep']);
    // Whenever an old worker is told to drain, at least `size` others serve.
    const servingAtDrain: number[] = [];
    cluster.on('workerDraining', () => {
      servingAtDrain.push(liveStatus(cluster).filter((r) => r.state === 'ready').length);
    });
    const result = await cluster.reload({ parallel: 3 });
    expect(result.replaced.map((r) => r.slot)).toEqual([0, 1, 2, 3]);
    const names = events.map(([name, e]) => `${name}:${e.slot}`);
    // The canary forks alone and is adopted (its step) before any other slot's old worker drains.
    expect(names[0]).toBe('workerFork:0');
    expect(names[1]).toBe('workerReady:0');
    const canaryStep = names.indexOf('reloadStep:0');
    for (const slot of [1, 2, 3]) expect(names.indexOf(`workerDraining:${slot}`)).toBeGreaterThan(canaryStep);
    // The batch: its three forks all happen before any of them is ready (in parallel, not in turn).
    const batchForks = [1, 2, 3].map((slot) => names.indexOf(`workerFork:${slot}`));
    const batchReadies = [1, 2, 3].map((slot) => names.indexOf(`workerReady:${slot}`));
    expect(Math.max(...batchForks)).toBeLessThan(Math.min(...batchReadies));
    expect(servingAtDrain).toHaveLength(4);
    for (const serving of servingAtDrain) expect(serving).toBeGreaterThanOrEqual(4);
    for (const row of liveStatus(cluster)) expect(oldIds.has(row.id)).toBe(false);
  }, 90_000);

  it('a canary that dies during its probation aborts the reload: no old worker drained, all keep serving', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 3, probation: 3_000 });
    const before = liveStatus(cluster).map((r) => [r.slot, r.pid]);
    const draining = recordEvents(cluster, ['workerDraining']);
    const error = await cluster.reload({ env: { DIE_AFTER_READY_MS: '200' } }).catch((e) => e);
    expect(error.name).toBe('ReloadError');
    expect(error.slot).toBe(0);
    expect(error.replaced).toEqual([]);
    expect(error.message).toMatch(/during its 3000 ms probation/);
    const oldPids = new Set(before.map(([, pid]) => pid));
    // Only replacements (the early batch, if it got that far) were drained; no old worker was.
    for (const [, worker] of draining) expect(oldPids.has(worker.pid)).toBe(false);
    expect(liveStatus(cluster).map((r) => [r.slot, r.pid])).toEqual(before);
    const answers = await cluster.bus.callAll('stats');
    expect(
      answers
        .filter((a) => a.ok)
        .map((a) => a.pid)
        .sort(),
    ).toEqual([...oldPids].sort());
  }, 60_000);
});
