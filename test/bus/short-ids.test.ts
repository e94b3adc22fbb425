/**
 * Numeric call ids over real cluster IPC: used once the handshake named this end, never answered
 * with a reply owed to an earlier bus on the same channel, and invisible to handlers, whose
 * `ctx.callId` stays `<caller instance>:<counter>`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus } from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import { forkFixture, forkReady, nextMessage, useWorkerCleanup } from '../helpers/cluster.js';

useWorkerCleanup();

let bus: PrimaryBus<TestContract> | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

describe('short call ids', () => {
  it('carry numbers on the wire once the handshake is done, and keep ctx.callId unique and prefixed', async () => {
    bus = createPrimaryBus(contract, { handlers: { config: ({ key }) => key } });
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    const wireIds: unknown[] = [];
    worker!.process.on('message', (value: { k?: string; b?: unknown[]; id?: unknown }) => {
      const all = value?.k === 'batch' && Array.isArray(value.b) ? value.b : [value];
      for (const item of all as Array<typeof value>) if (item?.k === 'res') wireIds.push(item.id);
    });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await bus.call(worker!, 'callInfo')).callId);
    expect(wireIds).toHaveLength(3);
    for (const id of wireIds) expect(Number.isSafeInteger(id)).toBe(true);
    // The caller's instance, then the counter: what the string ids were, made only when read.
    expect(new Set(ids).size).toBe(3);
    const [prefix] = ids[0]!.split(':');
    for (const [i, id] of ids.entries()) expect(id).toBe(`${prefix}:${(wireIds[i] as number).toString(36)}`);
  });

  it('a worker that replaces its bus never gets the reply owed to the old one, whatever the id', async () => {
    let secondArrived!: () => void;
    const second = new Promise<void>((resolve) => {
      secondArrived = resolve;
    });
    let firstReturned!: () => void;
    const firstDone = new Promise<void>((resolve) => {
      firstReturned = resolve;
    });
    let firstAbortCode: unknown;
    bus = createPrimaryBus(contract, {
      handlers: {
        config: async ({ key }, ctx) => {
          if (key === 'first') {
            if (ctx.caller.kind === 'worker')
              await bus!.emitTo(ctx.caller.id, 'invalidate', { key: 'first-running' });
            await second;
            firstAbortCode = ctx.signal.aborted
              ? (ctx.signal.reason as { code?: string }).code
              : 'not aborted';
            firstReturned();
            return 'answer to the first bus';
          }
          if (key === 'second') {
            secondArrived();
            await firstDone;
            // The first reply, had it been sent, is written before this one.
            await new Promise((resolve) => setImmediate(resolve));
            return 'answer to the second bus';
          }
          return key;
        },
      },
    });
    const worker = forkFixture('replaced-bus-worker.ts');
    const first = nextMessage(worker, (m) => m.replacedBus && 'first' in m, 15_000);
    const report = nextMessage(worker, (m) => m.replacedBus && 'second' in m, 15_000);
    expect((await first).first).toEqual({ ok: false, code: 'CLOSED' });
    expect((await report).second).toEqual({ ok: true, value: 'answer to the second bus' });
    // The call the old bus made was ended when the new bus said hello.
    expect(firstAbortCode).toBe('PEER_GONE');
  });
});
