/**
 * Property-based fuzzing of the receive path over real cluster IPC, in both directions and both
 * serialization modes: 10 000 generated tagged messages primary → worker and 10 000 worker →
 * primary (wrong types in every field, own `__proto__`/`constructor` keys, deep nesting, huge
 * strings, NaN, replies and cancels aimed at calls really pending). Afterwards both processes are
 * alive, real calls work both ways, every call a forged reply hit has settled with a value or a
 * BusError, and Object.prototype is untouched. The seed is random per run and printed on failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, isBusError, type PrimaryBus } from '../../src/index.js';
import { type WireContract, wireContract, workerMethods } from '../fixtures/wire-contract.js';
import { forkFixture, useWorkerCleanup, waitForReady } from '../helpers/cluster.js';
import { until } from '../helpers/memory.js';
import { sampleMessages, sendAll } from './wire-arbitraries.js';

const MESSAGES = 10_000;
const HELD = 16;

useWorkerCleanup();
let bus: PrimaryBus<WireContract> | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

type Serialization = 'json' | 'advanced';

describe('the wire under fuzzing', () => {
  it(`survives ${MESSAGES} hostile messages each way, json and advanced, and keeps every call settling`, async () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const heldByPrimary = new Map<number, Array<string | number>>();
    let primaryErrors = 0;
    bus = createPrimaryBus(wireContract, {
      handlers: {
        pong: ({ n }) => ({ n }),
        hold: (_input, ctx) =>
          new Promise<string>((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
          ),
      },
    });
    bus.on('error', () => primaryErrors++);
    const primary = bus;

    /** Fuzzes one worker both ways at once; resolves once every check on it passed. */
    const fuzz = async (serialization: Serialization, runSeed: number) => {
      const context = `seed ${runSeed} (${serialization})`;
      const worker = forkFixture('wire-worker.ts', {
        serialization,
        env: { FUZZ_SERIALIZATION: serialization },
      });
      // The wire ids of the worker's `hold` requests (what a forged reply must carry).
      const heldIds: Array<string | number> = [];
      heldByPrimary.set(worker.id, heldIds);
      worker.on('message', (value: { k?: unknown; b?: unknown; m?: unknown; id?: unknown }) => {
        const all = value?.k === 'batch' && Array.isArray(value.b) ? value.b : [value];
        for (const item of all as Array<typeof value>) {
          if (
            item?.k === 'req' &&
            item.m === 'hold' &&
            (typeof item.id === 'string' || typeof item.id === 'number')
          )
            heldIds.push(item.id);
        }
      });
      await waitForReady(primary, worker, 30_000);
      const pid = worker.process.pid!;

      // Calls really pending on both sides, so forged replies and cancels reach the settle paths.
      const primaryCalls = Array.from({ length: HELD }, () =>
        primary.call(worker, 'hold', undefined, { timeout: 0 }).then(
          (value) => ({ ok: true, value }) as const,
          (error: unknown) => ({ ok: false, error }) as const,
        ),
      );
      await primary.call(worker, 'holdPrimary', { count: HELD });
      await until(() => heldIds.length === HELD, 20_000);
      const heldByWorker = await primary.call(worker, 'heldIds');
      expect(heldByWorker, context).toHaveLength(HELD);

      // worker → primary and primary → worker at the same time.
      const up = primary.call(
        worker,
        'fuzzPrimary',
        { seed: runSeed + 1, count: MESSAGES, knownIds: [...heldByWorker, ...heldIds] },
        { timeout: 120_000 },
      );
      const toWorker = sampleMessages(runSeed, MESSAGES, {
        serialization,
        knownIds: [...heldIds, ...heldByWorker],
        methods: workerMethods,
        events: ['note'],
        withoutControls: ['drain'],
      });
      const down = await sendAll(toWorker, (message, done) => worker.send(message as never, undefined, done));
      expect(down.sent + down.refused, context).toBe(MESSAGES);
      const sentUp = await up;
      expect(sentUp.sent + sentUp.refused, context).toBe(MESSAGES);

      // Both alive, and real calls still work both ways.
      expect(worker.isDead(), context).toBe(false);
      expect(() => process.kill(pid, 0)).not.toThrow();
      await expect(primary.call(worker, 'ping', { n: 42 })).resolves.toEqual({ n: 42, pid });
      await expect(primary.call(worker, 'askPrimary', { n: 7 })).resolves.toEqual({ n: 7 });

      // Every call the fuzz aimed at settled, with a value that passed its schema or a BusError.
      const outcomes = await Promise.all(primaryCalls);
      for (const outcome of outcomes) {
        if (outcome.ok) expect(typeof outcome.value, context).toBe('string');
        else expect(isBusError(outcome.error), `${context}: ${String(outcome.error)}`).toBe(true);
      }
      const report = await primary.call(worker, 'report');
      expect(report.settled, context).toHaveLength(HELD);
      for (const row of report.settled) {
        if (row.ok) expect(typeof row.value, context).toBe('string');
        else expect(row.busError, `${context}: ${JSON.stringify(row)}`).toBe(true);
      }
      // Drops were reported, not silent, and nothing reached the worker's Object.prototype.
      expect(report.errors, context).toBeGreaterThan(0);
      expect(report.prototypeKeys, context).toEqual(prototypeKeys);
      expect(report.polluted, context).toBe(false);
    };

    await Promise.all([fuzz('json', seed), fuzz('advanced', seed + 2)]);

    expect(primaryErrors, `seed ${seed}`).toBeGreaterThan(0);
    expect(Object.getOwnPropertyNames(Object.prototype).sort(), `seed ${seed}`).toEqual(prototypeKeys);
    expect(Object.getOwnPropertySymbols(Object.prototype), `seed ${seed}`).toEqual([]);
    expect('polluted' in {}, `seed ${seed}`).toBe(false);
  }, 120_000);
});
