/**
 * Failure paths with real workers: OVERLOADED and the backpressure signal, abort of queued and
 * running tasks, a worker killed mid-task (PEER_GONE), and opt-in retry on another worker.
 */
import { describe, expect, it } from 'vitest';
import type { RetryInfo } from '../../src/index.js';
import { useWorkerCleanup } from '../helpers/cluster.js';
import { kill } from './notes.js';
import { withPool } from './setup.js';

useWorkerCleanup();

describe('TaskPool failures', () => {
  it('keeps a task it timed out counted until the worker finishes it, so concurrency holds', async () => {
    await withPool(1, { concurrency: 1 }, async ({ bus, pool, workers }) => {
      const id = workers[0]!.id;
      // The handler ignores ctx.signal: it keeps running on the worker after the caller gave up.
      await expect(pool.run('stubborn', { id: 's1', ms: 1_000 }, { timeout: 150 })).rejects.toMatchObject({
        code: 'TIMEOUT',
      });
      expect(bus.worker(id)?.abandoned).toBe(1);
      // The next task waits for the stubborn one instead of running beside it.
      const next = await pool.run('work', { id: 's2', ms: 1 });
      expect(next.concurrent).toBe(1);
      expect(bus.worker(id)?.abandoned).toBe(0);
    });
  });

  it('refuses with OVERLOADED at once when the queue is full, and signals needsDrain / drain', async () => {
    await withPool(1, { maxQueue: 2, highWaterMark: 2 }, async ({ pool }) => {
      const controller = new AbortController();
      let busySettled = false;
      const busy = pool.run('work', { id: 'busy', ms: 10_000 }, { signal: controller.signal }).finally(() => {
        busySettled = true;
      });
      // It is awaited (and its rejection checked) only after the drain below.
      busy.catch(() => {});
      expect(pool.needsDrain).toBe(false);
      const queued = [pool.run('work', { id: 'q1', ms: 1 }), pool.run('work', { id: 'q2', ms: 1 })];
      expect(pool.needsDrain).toBe(true);

      const error = await pool.run('noop').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'OVERLOADED', name: 'OverloadedError' });
      expect((error as Error).message).toMatch(/queue is full \(2 waiting, 1 running on 1 ready workers\)/);
      expect(busySettled).toBe(false);
      expect(pool.stats()).toMatchObject({ queued: 2, running: 1, overloaded: 1, failed: 0 });

      let drains = 0;
      pool.on('drain', () => drains++);
      const drained = pool.onDrain();
      controller.abort();
      await drained;
      expect(drains).toBe(1);
      expect(pool.needsDrain).toBe(false);
      await expect(busy).rejects.toMatchObject({ code: 'ABORTED' });
      expect((await Promise.all(queued)).map((r) => r.id)).toEqual(['q1', 'q2']);
      await pool.onIdle();
    });
  });

  it('removes an aborted queued task from the queue: it never runs, and the queue keeps flowing', async () => {
    await withPool(1, {}, async ({ pool, notes }) => {
      const first = pool.run('work', { id: 'first', ms: 200 });
      const controller = new AbortController();
      const doomed = pool.run('work', { id: 'doomed', ms: 1 }, { signal: controller.signal });
      const after = pool.run('work', { id: 'after', ms: 1 });
      expect(pool.queued).toBe(2);
      controller.abort(new Error('user gave up'));
      const error = await doomed.catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ABORTED' });
      expect((error as Error).message).toMatch(/aborted while queued in the pool; it never ran/);
      expect((error as Error).cause).toMatchObject({ message: 'user gave up' });
      expect(pool.queued).toBe(1);
      expect((await first).id).toBe('first');
      expect((await after).id).toBe('after');
      expect(notes.started()).toEqual(['first', 'after']);
      expect(pool.stats()).toMatchObject({ completed: 2, failed: 1, errors: { ABORTED: 1 } });
    });
  });

  it('rejects a task whose signal is already aborted without queueing it', async () => {
    await withPool(0, {}, async ({ pool }) => {
      await expect(pool.run('noop', 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({
        code: 'ABORTED',
      });
      expect(pool.stats().queued).toBe(0);
    });
  });

  it("aborts a running task's ctx.signal in the worker", async () => {
    await withPool(1, {}, async ({ pool, notes }) => {
      const controller = new AbortController();
      const task = pool.run('work', { id: 'run', ms: 10_000 }, { signal: controller.signal });
      await notes.next((n) => n.id === 'run' && n.pool === 'start');
      controller.abort();
      await expect(task).rejects.toMatchObject({ code: 'ABORTED' });
      await notes.next((n) => n.id === 'run' && n.pool === 'abort');
      expect(pool.stats()).toMatchObject({ running: 0, failed: 1 });
      // The worker is free again.
      expect(await pool.run('noop', 3)).toBe(3);
    });
  });

  it('rejects with PEER_GONE when the worker dies mid-task, and routes around the dead worker', async () => {
    await withPool(2, {}, async ({ pool, workers, notes }) => {
      // Handled from the start: it rejects while the test is still waiting for the exit.
      const task = pool.run('work', { id: 'victim', ms: 10_000 }).catch((e: unknown) => e);
      const { worker: victimId } = await notes.next((n) => n.id === 'victim' && n.pool === 'start');
      await kill(workers.find((w) => w.id === victimId)!);
      expect(await task).toMatchObject({ code: 'PEER_GONE', name: 'PeerGoneError' });
      expect(pool.stats()).toMatchObject({
        failed: 1,
        retried: 0,
        errors: { PEER_GONE: 1 },
        readyWorkers: 1,
      });
      expect(pool.stats().workers.map((w) => w.id)).not.toContain(victimId);
      const next = await pool.run('work', { id: 'next', ms: 1 });
      expect(next.worker).not.toBe(victimId);
      expect(notes.started().filter((id) => id === 'victim')).toHaveLength(1);
    });
  });

  it('with retry, resubmits a task whose worker died and completes it on another worker', async () => {
    await withPool(2, { retry: 1 }, async ({ pool, workers, notes }) => {
      const retries: RetryInfo[] = [];
      pool.on('retry', (info) => retries.push(info));
      const task = pool.run('work', { id: 'phoenix', ms: 300 });
      const { worker: victimId } = await notes.next((n) => n.id === 'phoenix' && n.pool === 'start');
      await kill(workers.find((w) => w.id === victimId)!);
      const result = await task;
      expect(result.id).toBe('phoenix');
      expect(result.worker).not.toBe(victimId);
      expect(retries).toMatchObject([{ method: 'work', workerId: victimId, attempt: 1 }]);
      expect(pool.stats()).toMatchObject({ completed: 1, failed: 0, retried: 1 });
    });
  });

  it('bounds the retries: a task that keeps losing its worker rejects with PEER_GONE', async () => {
    await withPool(2, {}, async ({ pool, workers, notes }) => {
      const task = pool.run('work', { id: 'cursed', ms: 10_000 }, { retry: 1 }).catch((e: unknown) => e);
      const starts = (k: number) => notes.all.filter((n) => n.id === 'cursed' && n.pool === 'start')[k];
      const first = await notes.next((n) => n.id === 'cursed' && n.pool === 'start');
      await kill(workers.find((w) => w.id === first.worker)!);
      await notes.next((n) => n.id === 'cursed' && n.pool === 'start' && n.worker !== first.worker);
      await kill(workers.find((w) => w.id === starts(1)!.worker)!);
      expect(await task).toMatchObject({ code: 'PEER_GONE' });
      expect(pool.stats()).toMatchObject({ retried: 1, failed: 1, readyWorkers: 0 });
    });
  });

  it('rejects queued tasks with CLOSED on close(), lets running ones finish, and refuses new ones', async () => {
    await withPool(1, {}, async ({ pool, notes }) => {
      const running = pool.run('work', { id: 'running', ms: 100 });
      const queued = pool.run('work', { id: 'queued', ms: 1 });
      pool.close();
      await expect(queued).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(pool.run('noop')).rejects.toMatchObject({ code: 'CLOSED' });
      expect((await running).id).toBe('running');
      await pool.onIdle();
      expect(notes.started()).toEqual(['running']);
    });
  });
});
