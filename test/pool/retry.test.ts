/**
 * A retry goes to another worker, and a worker whose IPC channel has closed takes no work at once,
 * before the primary has handled its 'disconnect' or 'exit' (both arrive a tick later at best).
 * `worker.process.disconnect()` closes the channel synchronously and its event comes on the next
 * tick: the window a worker that just died leaves open, made deterministic.
 */
import { describe, expect, it } from 'vitest';
import {
  createMemoryTransportPair,
  createPrimaryBus,
  createTaskPool,
  createWorkerBus,
  PeerGoneError,
  type RetryInfo,
  type Transport,
} from '../../src/index.js';
import { poolContract } from '../fixtures/pool-contract.js';
import { useWorkerCleanup } from '../helpers/cluster.js';
import { until, withPool } from './setup.js';

useWorkerCleanup();

describe('TaskPool retry', () => {
  it('sends a retry to another worker, never back to one that failed it', async () => {
    // In-process links, one of which fails every request with PEER_GONE while still looking open:
    // what a write that fails with EPIPE before the channel's close is read looks like.
    const primary = createPrimaryBus(poolContract, { autoAttach: false });
    const pairs = [1, 2, 3].map(() => createMemoryTransportPair());
    const running = new Map<string, number>();
    let faulty = -1;
    const workerBuses = pairs.map((pair, index) => {
      const id = index + 1;
      primary.attachTransport(
        id,
        failRequestsWhen(pair.a, () => faulty === id),
      );
      return createWorkerBus(poolContract, {
        transport: pair.b,
        handlers: {
          work: ({ id: task, ms }) => {
            running.set(task, id);
            return new Promise((resolve) =>
              setTimeout(() => resolve({ id: task, worker: id, pid: 0, concurrent: 1 }), ms),
            );
          },
        },
      });
    });
    const pool = createTaskPool(primary, { concurrency: 2 });
    try {
      await Promise.all(workerBuses.map((bus) => bus.ready()));
      await until(() => primary.readyWorkerIds().length === 3, 'three ready workers');
      // Two workers carry one task each; the third, idle and so the least busy, is the broken one.
      const busy = [pool.run('work', { id: 'b1', ms: 300 }), pool.run('work', { id: 'b2', ms: 300 })];
      await until(() => running.size === 2, 'both busy tasks running');
      faulty = [1, 2, 3].find((id) => ![...running.values()].includes(id))!;
      const retries: RetryInfo[] = [];
      pool.on('retry', (info) => retries.push(info));

      const result = await pool.run('work', { id: 'phoenix', ms: 1 }, { retry: 2 });

      expect(result.worker).not.toBe(faulty);
      expect(retries.map((r) => r.workerId)).toEqual([faulty]);
      expect(pool.stats()).toMatchObject({ retried: 1 });
      await Promise.all(busy);
    } finally {
      pool.close();
      primary.close();
      await Promise.all(workerBuses.map((bus) => bus.close()));
      for (const pair of pairs) pair.close();
    }
  });

  it('does not route new work to a worker whose channel closed, even before its exit is handled', async () => {
    await withPool(2, { concurrency: 4 }, async ({ bus, pool, workers }) => {
      const [victim, survivor] = workers as [(typeof workers)[0], (typeof workers)[0]];
      victim.process.disconnect();
      // Synchronously, in the same tick: the 'disconnect' event has not been emitted yet.
      expect(bus.readyWorkerIds()).toEqual([survivor.id]);
      const tasks = Array.from({ length: 4 }, (_, k) => pool.run('work', { id: `t${k}`, ms: 1 }));
      const gathered = bus.callAll('noop', 7);
      const results = await Promise.all(tasks);
      expect(results.map((r) => r.worker)).toEqual([survivor.id, survivor.id, survivor.id, survivor.id]);
      expect(await gathered).toMatchObject([{ id: survivor.id, ok: true, value: 7 }]);
      expect(pool.stats()).toMatchObject({ completed: 4, failed: 0 });
    });
  });

  it('waits in the queue for another worker when the only ready one failed the task', async () => {
    await withPool(1, { concurrency: 1 }, async ({ bus, pool, workers }) => {
      const [only] = workers as [(typeof workers)[0]];
      only.process.disconnect();
      // Retry 3 times, no other worker: it must not burn its retries on the dead one.
      const error = await pool
        .run('work', { id: 'lonely', ms: 1 }, { retry: 3, timeout: 300 })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NOT_READY' });
      expect(pool.stats()).toMatchObject({ retried: 0 });
      expect(bus.readyWorkerIds()).toEqual([]);
    });
  });
});

/** `transport`, except that requests fail with PEER_GONE while `broken()` says so. */
function failRequestsWhen(transport: Transport, broken: () => boolean): Transport {
  return Object.assign(Object.create(transport) as Transport, {
    post(message: Parameters<Transport['post']>[0], done: (error?: Error) => void) {
      if (message.k === 'req' && broken()) done(new PeerGoneError('write EPIPE (injected)'));
      else transport.post(message, done);
    },
    send(message: Parameters<Transport['send']>[0]) {
      return new Promise<void>((resolve, reject) =>
        this.post(message, (error?: Error) => (error ? reject(error) : resolve())),
      );
    },
  });
}
