import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createMemoryTransportPair,
  createPrimaryBus,
  createWorkerBus,
  defineContract,
} from '../../src/index.js';

const contract = defineContract({ worker: { ping: { output: z.literal('pong') } } });
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

function setup(workers: number) {
  const primary = createPrimaryBus(contract, { autoAttach: false });
  cleanups.push(() => primary.close());
  const buses = Array.from({ length: workers }, (_, index) => {
    const pair = createMemoryTransportPair();
    primary.attachTransport(index + 1, pair.a);
    const bus = createWorkerBus(contract, { transport: pair.b, handlers: { ping: () => 'pong' as const } });
    cleanups.push(
      () => bus.close(),
      () => pair.close(),
    );
    return bus;
  });
  return { primary, buses };
}

describe('waitForReady', () => {
  it('resolves with the ready ids once enough workers said ready()', async () => {
    const { primary, buses } = setup(3);
    const waiting = primary.waitForReady(2);
    await buses[0]!.ready();
    await buses[2]!.ready();
    expect((await waiting).sort()).toEqual([1, 3]);
    await expect(primary.call(3, 'ping')).resolves.toBe('pong');
    // Already satisfied: resolves at once.
    await expect(primary.waitForReady(1)).resolves.toHaveLength(2);
  });

  it('rejects with TIMEOUT naming how many were ready, and with ABORTED', async () => {
    const { primary, buses } = setup(2);
    await buses[0]!.ready();
    await expect(primary.waitForReady(2, { timeout: 50 })).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining('only 1 worker was ready after 50 ms'),
    });
    const controller = new AbortController();
    const waiting = primary.waitForReady(2, { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    expect(() => primary.waitForReady(0)).toThrow(RangeError);
  });
});
