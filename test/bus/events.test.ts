/** Broadcast events over real cluster IPC with three workers: fan-out, order, validation, skipping. */
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus } from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import { forkFixture, forkReady, nextMessage, useWorkerCleanup, waitForReady } from '../helpers/cluster.js';
import { until } from '../helpers/memory.js';

useWorkerCleanup();

let bus: PrimaryBus<TestContract> | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

/** Collects the `{ event, payload, meta, at }` reports the fixture sends for every event it gets. */
function eventLog(workers: { on(event: 'message', listener: (message: any) => void): unknown }[]) {
  const log: Array<{ event: string; payload: any; meta: any; at: number }> = [];
  for (const worker of workers) worker.on('message', (message) => message?.event && log.push(message));
  return log;
}

describe('primary broadcast', () => {
  it('reaches every ready worker, typed and in send order', async () => {
    bus = createPrimaryBus(contract);
    const workers = await forkReady(bus, 'echo-worker.ts', 3);
    const log = eventLog(workers);
    const sent = await bus.broadcast('invalidate', { key: 'user:1' });
    expect(sent.sort()).toEqual(workers.map((worker) => worker.id).sort());
    for (let i = 0; i < 50; i++) void bus.broadcast('note', { text: String(i) });
    await until(() => log.filter((entry) => entry.event === 'note').length === 150);
    for (const worker of workers) {
      const mine = log.filter((entry) => entry.at === worker.id);
      expect(mine[0]).toEqual({
        event: 'invalidate',
        payload: { key: 'user:1' },
        meta: { from: 'primary' },
        at: worker.id,
      });
      expect(mine.slice(1).map((entry) => Number(entry.payload.text))).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
    }
  });

  it('rejects a bad payload with VALIDATION before sending anything', async () => {
    bus = createPrimaryBus(contract);
    const workers = await forkReady(bus, 'echo-worker.ts', 1);
    const log = eventLog(workers);
    await expect(bus.broadcast('invalidate', { key: 7 as unknown as string })).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(
        /^payload of event "invalidate" failed validation on the primary before sending at "key"/,
      ),
    });
    await bus.broadcast('note', { text: 'after' });
    await until(() => log.length === 1);
    expect(log[0]!.payload).toEqual({ text: 'after' });
  });

  it('drops a bad event that arrives anyway and reports it on the error event, without crashing', async () => {
    bus = createPrimaryBus(contract);
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    const reported = nextMessage(worker!, (message) => message?.busError);
    worker!.send({ $cb: 1, k: 'evt', n: 'note', p: { text: 99 } });
    await expect(reported).resolves.toMatchObject({
      busError: 'VALIDATION',
      message: expect.stringMatching(
        /^payload of event "note" from the primary failed validation .* at "text"/,
      ),
    });
    // The worker is alive and serving.
    await expect(bus.call(worker!, 'echo', { text: 'alive' })).resolves.toEqual({ text: 'alive' });
  });

  it('skips workers that are still starting or draining, and a later worker does not get it', async () => {
    bus = createPrimaryBus(contract);
    const [ready, draining] = await forkReady(bus, 'echo-worker.ts', 2);
    const starting = forkFixture('echo-worker.ts', { env: { DELAY_READY_MS: '1500' } });
    await until(() => bus!.worker(starting.id)?.connected === true);
    await bus.drain(draining!);
    const log = eventLog([ready!, draining!, starting]);
    expect(await bus.broadcast('invalidate', { key: 'k' })).toEqual([ready!.id]);
    await waitForReady(bus, starting);
    await bus.broadcast('note', { text: 'second' });
    await until(() => log.some((entry) => entry.at === starting.id));
    expect(log.filter((entry) => entry.at === starting.id).map((entry) => entry.event)).toEqual(['note']);
    expect(log.some((entry) => entry.at === draining!.id)).toBe(false);
  });
});

describe('events from workers', () => {
  it('a worker emits to the primary, whose listener sees the sender id', async () => {
    bus = createPrimaryBus(contract);
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    const got = new Promise((resolve) => bus!.once('note', (payload, meta) => resolve({ payload, meta })));
    await bus.call(worker!, 'shout', { text: 'hello primary', how: 'emit' });
    await expect(got).resolves.toEqual({ payload: { text: 'hello primary' }, meta: { from: worker!.id } });
  });

  it('a worker broadcasts to the others through the primary; its own copy only with includeSelf', async () => {
    bus = createPrimaryBus(contract);
    const workers = await forkReady(bus, 'echo-worker.ts', 3);
    const [sender] = workers;
    const log = eventLog(workers);
    await bus.call(sender!, 'shout', { text: 'to all', how: 'broadcast' });
    await until(() => log.length === 2);
    expect(log.map((entry) => entry.at).sort()).toEqual(
      workers
        .slice(1)
        .map((worker) => worker.id)
        .sort(),
    );
    expect(log.every((entry) => entry.meta.from === sender!.id)).toBe(true);
    await bus.call(sender!, 'shout', { text: 'with me', how: 'broadcast', includeSelf: true });
    await until(() => log.length === 5);
    expect(
      log
        .filter((entry) => entry.payload.text === 'with me')
        .map((entry) => entry.at)
        .sort(),
    ).toEqual(workers.map((worker) => worker.id).sort());
  });

  it('the primary drops a bad event from a worker and reports it', async () => {
    bus = createPrimaryBus(contract);
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    const error = new Promise<Error>((resolve) => bus!.once('error', resolve));
    const listener = { calls: 0 };
    bus.on('note', () => listener.calls++);
    await bus.call(worker!, 'shoutRaw');
    expect((await error).message).toMatch(
      new RegExp(
        `^payload of event "note" from worker ${worker!.id} failed validation on the primary on receipt`,
      ),
    );
    expect(listener.calls).toBe(0);
  });
});
