/**
 * A call to a method the contract does not list is refused locally at once with NO_HANDLER (it
 * would only come back NO_HANDLER a round trip later), and nothing goes on the wire; a forgotten
 * worker argument says what was probably meant.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTaskPool, defineContract, isBusError } from '../../src/index.js';
import { memoryCluster } from '../helpers/memory.js';

const contract = defineContract({
  worker: {
    stats: { output: z.object({ n: z.number() }) },
    resize: { input: z.number(), output: z.number() },
  },
  primary: { config: { input: z.string(), output: z.string() } },
});

/** Any arguments, as plain JavaScript callers pass them. */
const untyped = (fn: (...args: any[]) => Promise<unknown>) => fn as (...args: unknown[]) => Promise<unknown>;

describe('calls to methods outside the contract', () => {
  it('are refused at once with NO_HANDLER, naming the method and what was probably meant; nothing is sent', async () => {
    const rig = await memoryCluster(contract, {
      workers: 2,
      primary: { handlers: { config: (key) => key } },
      worker: () => ({ handlers: { stats: () => ({ n: 1 }), resize: (n) => n } }),
    });
    const requests: unknown[] = [];
    for (const pair of rig.pairs) {
      for (const end of [pair.a, pair.b]) {
        end.onMessage((value) => {
          if ((value as { k?: unknown }).k === 'req') requests.push(value);
        });
      }
    }
    const pool = createTaskPool(rig.primary);
    try {
      const [w1] = rig.workers as [(typeof rig.workers)[0]];
      const primaryCall = untyped(rig.primary.call.bind(rig.primary));
      const cases: Array<[Promise<unknown>, RegExp]> = [
        [
          primaryCall(1, 'stast'),
          /call\(\): "stast" is not in the contract's worker procedures.*did you mean "stats"\?/,
        ],
        [
          primaryCall(1, 'config', 'k'),
          /"config" is served by the primary \(contract\.primary\): workers call it/,
        ],
        [
          untyped(rig.primary.callAll.bind(rig.primary))('nope'),
          /callAll\(\): "nope" is not in the contract's worker procedures.*add it to defineContract\(\{ worker/,
        ],
        [
          untyped(w1.call.bind(w1))('stats'),
          /"stats" is served by the workers \(contract\.worker\): call one with bus\.call\(workerId, "stats", input\)/,
        ],
        [
          untyped(w1.call.bind(w1))(2, 'resise', 3),
          /call\(2, …\): "resise" is not in the contract's worker procedures.*did you mean "resize"\?/,
        ],
        [untyped(w1.callPeers.bind(w1))('statz'), /callPeers\(\): "statz".*did you mean "stats"\?/],
        [untyped(pool.run.bind(pool))('resizee', 1), /run\("resizee"\): "resizee".*did you mean "resize"\?/],
      ];
      for (const [call, message] of cases) {
        const error = await call.catch((e: unknown) => e);
        expect(isBusError(error) && error.code, String(error)).toBe('NO_HANDLER');
        expect((error as Error).message).toMatch(message);
      }
      expect(requests).toEqual([]);
      expect(pool.stats()).toMatchObject({ queued: 0, running: 0 });
      // What is in the contract still goes through.
      expect(await rig.primary.call(1, 'resize', 4)).toBe(4);
      expect(requests).toHaveLength(1);
    } finally {
      pool.close();
      await rig.close();
    }
  });

  it('a forgotten worker argument says what was meant instead of `call "undefined"`', async () => {
    const rig = await memoryCluster(contract, { worker: () => ({ handlers: { stats: () => ({ n: 1 }) } }) });
    try {
      const error = await untyped(rig.primary.call.bind(rig.primary))('stats').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(
        /^call\("stats"\): the first argument is the worker \(a cluster\.Worker or its id\), the second the method; did you mean bus\.call\(worker, "stats", input\)\? For every ready worker use bus\.callAll\("stats"\)/,
      );
      expect((error as Error).message).not.toMatch(/undefined/);
    } finally {
      await rig.close();
    }
  });
});
