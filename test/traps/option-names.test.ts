/**
 * A misspelt option is a TypeError that names it and the closest valid name, instead of being
 * ignored: startCluster and its nested objects, the pool, both buses, and per-call options.
 */
import cluster from 'node:cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createPrimaryBus,
  createTaskPool,
  createWorkerBus,
  defineContract,
  startCluster,
} from '../../src/index.js';
import { closestName } from '../../src/options-check.js';
import { fixturePath } from '../helpers/cluster.js';
import { memoryCluster } from '../helpers/memory.js';

const exec = fixturePath('echo-worker.ts');

const contract = defineContract({
  worker: { echo: { input: z.string(), output: z.string() } },
  primary: { ping: { output: z.literal('pong') } },
  events: { note: z.string() },
});

/** Calls `fn` (sync or async) and returns what it threw or rejected with. */
async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure, but it succeeded');
}

/** Any option object, without the compiler's own excess-property check (that is what users of JS get). */
const loose = (value: Record<string, unknown>): any => value;

describe('unknown option names', () => {
  const forks: number[] = [];
  const onFork = (worker: { id: number }) => forks.push(worker.id);
  cluster.on('fork', onFork);
  afterEach(() => {
    expect(forks, 'nothing may be forked for a bad option').toEqual([]);
  });

  it.each([
    [
      'size',
      loose({ contract, exec, sise: 2 }),
      /startCluster options: unknown option "sise" \(did you mean "size"\?\)/,
    ],
    [
      'pool',
      loose({ contract, exec, pool: { concurency: 4 } }),
      /startCluster options\.pool: unknown option "concurency" \(did you mean "concurrency"\?\)/,
    ],
    [
      'backoff',
      loose({ contract, exec, backoff: { minimum: 5 } }),
      /startCluster options\.backoff: unknown option "minimum" \(did you mean "min"\?\)/,
    ],
    [
      'crashBudget',
      loose({ contract, exec, crashBudget: { crash: 5 } }),
      /crashBudget: unknown option "crash" \(did you mean "crashes"\?\)/,
    ],
    [
      'signals',
      loose({ contract, exec, signals: { reloads: ['SIGHUP'] } }),
      /signals: unknown option "reloads" \(did you mean "reload"\?\)/,
    ],
  ])('startCluster refuses a misspelt %s option before forking', async (_name, options, message) => {
    const error = await failure(() => startCluster(options));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(message);
  });

  it('createTaskPool, createPrimaryBus and createWorkerBus name the unknown key and the closest valid one', async () => {
    const bus = createPrimaryBus(contract, { autoAttach: false });
    try {
      const pool = await failure(() => createTaskPool(bus, loose({ maxQeue: 1 })));
      expect(pool).toBeInstanceOf(TypeError);
      expect((pool as Error).message).toMatch(
        /createTaskPool options: unknown option "maxQeue" \(did you mean "maxQueue"\?\)/,
      );
    } finally {
      bus.close();
    }
    const primary = await failure(() => createPrimaryBus(contract, loose({ autoAttach: false, timout: 5 })));
    expect(primary).toBeInstanceOf(TypeError);
    expect((primary as Error).message).toMatch(
      /createPrimaryBus options: unknown option "timout" \(did you mean "timeout"\?\)/,
    );
    expect((primary as Error).message).toMatch(
      /the valid options are "handlers", "timeout", "autoAttach", "maxPendingSends"/,
    );
    const worker = await failure(() => createWorkerBus(contract, loose({ handler: {} })));
    expect(worker).toBeInstanceOf(TypeError);
    expect((worker as Error).message).toMatch(
      /createWorkerBus options: unknown option "handler" \(did you mean "handlers"\?\)/,
    );
  });

  it('reload() refuses a misspelt option', async () => {
    const { resolveReloadOptions, resolveClusterOptions } = await import('../../src/supervisor/options.js');
    const base = resolveClusterOptions({ contract, exec, size: 1 });
    expect(() => resolveReloadOptions(loose({ paralel: 2 }), base)).toThrow(
      /reload options: unknown option "paralel" \(did you mean "parallel"\?\)/,
    );
  });

  it('per-call options: call, callAll, callPeers, broadcast, waitForReady and pool.run', async () => {
    const rig = await memoryCluster(contract, {
      workers: 2,
      primary: { handlers: { ping: () => 'pong' as const } },
      worker: () => ({ handlers: { echo: (text: string) => text } }),
    });
    const pool = createTaskPool(rig.primary);
    try {
      const [w1] = rig.workers as [(typeof rig.workers)[0]];
      const cases: Array<[() => unknown, RegExp]> = [
        [
          () => rig.primary.call(1, 'echo', 'x', loose({ timout: 1 })),
          /call "echo" options: unknown option "timout" \(did you mean "timeout"\?\)/,
        ],
        [
          () => rig.primary.callAll('echo', 'x', loose({ sigal: undefined })),
          /callAll\("echo"\) options: unknown option "sigal" \(did you mean "signal"\?\)/,
        ],
        [
          () => w1.call('ping', undefined, loose({ timeOut: 5 })),
          /call "ping" options: unknown option "timeOut" \(did you mean "timeout"\?\)/,
        ],
        [
          () => w1.call(2, 'echo', 'x', loose({ retry: 1 })),
          /call "echo" options: unknown option "retry"; the valid options are "timeout", "signal"/,
        ],
        [
          () => w1.callPeers('echo', 'x', loose({ includeself: true })),
          /unknown option "includeself" \(did you mean "includeSelf"\?\)/,
        ],
        [
          () => w1.broadcast('note', 'x', loose({ includeSelfs: true })),
          /unknown option "includeSelfs" \(did you mean "includeSelf"\?\)/,
        ],
        [
          () => rig.primary.broadcast('note', 'x', loose({ includeStartng: true })),
          /unknown option "includeStartng" \(did you mean "includeStarting"\?\)/,
        ],
        [
          () => rig.primary.waitForReady(1, loose({ timeuot: 5 })),
          /waitForReady\(1\) options: unknown option "timeuot" \(did you mean "timeout"\?\)/,
        ],
        [
          () => pool.run('echo', 'x', loose({ retries: 1 })),
          /run\("echo"\) options: unknown option "retries" \(did you mean "retry"\?\)/,
        ],
      ];
      for (const [call, message] of cases) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toMatch(message);
      }
      // The right names still work.
      expect(await rig.primary.call(1, 'echo', 'ok', { timeout: 1_000, signal: undefined })).toBe('ok');
      expect(await w1.call('ping', undefined, { timeout: 1_000 })).toBe('pong');
    } finally {
      pool.close();
      await rig.close();
    }
  });

  it('suggests a name only when it is a plausible typo', () => {
    const names = ['concurrency', 'maxQueue', 'highWaterMark', 'timeout', 'retry', 'statsWindow'];
    expect(closestName('concurency', names)).toBe('concurrency');
    expect(closestName('maxqueue', names)).toBe('maxQueue');
    expect(closestName('retries', names)).toBe('retry');
    expect(closestName('colour', names)).toBeUndefined();
    expect(closestName('x', names)).toBeUndefined();
  });
});
