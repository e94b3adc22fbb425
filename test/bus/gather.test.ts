/** callAll from the primary and callPeers from a worker, over three real workers. */
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus, RemoteError, TimeoutError } from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import { forkReady, useWorkerCleanup } from '../helpers/cluster.js';
import { until } from '../helpers/memory.js';

useWorkerCleanup();

let bus: PrimaryBus<TestContract> | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

/** Three workers: one answers, one is too slow, one throws. */
async function mixedCluster() {
  bus = createPrimaryBus(contract);
  const [fine] = await forkReady(bus, 'echo-worker.ts', 1);
  const [slow] = await forkReady(bus, 'echo-worker.ts', 1, { env: { PROBE: 'slow' } });
  const [thrower] = await forkReady(bus, 'echo-worker.ts', 1, { env: { PROBE: 'throw' } });
  return { bus, fine: fine!, slow: slow!, thrower: thrower! };
}

describe('callAll', () => {
  it('gathers from every ready worker', async () => {
    bus = createPrimaryBus(contract);
    const workers = await forkReady(bus, 'echo-worker.ts', 3);
    const results = await bus.callAll('stats');
    expect(results.map((result) => result.id).sort()).toEqual(workers.map((worker) => worker.id).sort());
    for (const result of results) {
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.value.pid).toBe(result.pid);
    }
  });

  it('returns partial results at the deadline: values, a TIMEOUT and a REMOTE error, never a rejection', async () => {
    const { bus, fine, slow, thrower } = await mixedCluster();
    const results = await bus.callAll('probe', undefined, { timeout: 800 });
    const byId = new Map(results.map((result) => [result.id, result]));
    expect(byId.get(fine.id)).toEqual({
      id: fine.id,
      pid: fine.process.pid,
      ok: true,
      value: { id: fine.id },
    });
    const timedOut = byId.get(slow.id);
    expect(timedOut?.ok === false && timedOut.error).toBeInstanceOf(TimeoutError);
    const failed = byId.get(thrower.id);
    expect(failed?.ok === false && failed.error).toBeInstanceOf(RemoteError);
    expect(failed?.ok === false && failed.error.message).toBe(
      `call "probe" to worker ${thrower.id} failed: Error: probe refused by worker ${thrower.id}`,
    );
  });

  it("validates the input once for all workers: a bad one is every row's VALIDATION, and nothing is sent", async () => {
    bus = createPrimaryBus(contract);
    const workers = await forkReady(bus, 'echo-worker.ts', 2);
    const gathering = bus.callAll('echo', { text: 42 } as never);
    // Refused before anything was written: no call is pending on any link.
    for (const worker of workers) expect(bus.worker(worker.id)?.inFlight).toBe(0);
    const results = await gathering;
    expect(results.map((result) => result.id).sort()).toEqual(workers.map((worker) => worker.id).sort());
    for (const result of results) {
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.error.code).toBe('VALIDATION');
      expect(result.error.message).toMatch(
        /^input of call "echo" failed validation on the primary before sending at "text": /,
      );
    }
    // The same gather with good input reaches both.
    const good = await bus.callAll('echo', { text: 'hi' });
    expect(good.map((result) => result.ok)).toEqual([true, true]);
  });

  it('runs the input schema once however many workers it reaches', async () => {
    const schema = contract.worker.echo.input;
    let checks = 0;
    const counted = {
      '~standard': {
        ...schema['~standard'],
        validate: (value: unknown) => {
          checks++;
          return schema['~standard'].validate(value);
        },
      },
    };
    const countingContract = {
      ...contract,
      worker: { ...contract.worker, echo: { ...contract.worker.echo, input: counted } },
    } as unknown as TestContract;
    bus = createPrimaryBus(countingContract);
    await forkReady(bus, 'echo-worker.ts', 3);
    const results = await bus.callAll('echo', { text: 'once' });
    expect(results.map((result) => result.ok)).toEqual([true, true, true]);
    expect(checks).toBe(1);
  });

  it('resolves to [] when no worker is ready', async () => {
    bus = createPrimaryBus(contract);
    await expect(bus.callAll('stats')).resolves.toEqual([]);
  });

  it('aborts what is still pending when the signal fires; settled results keep their outcome', async () => {
    const { bus, slow } = await mixedCluster();
    const controller = new AbortController();
    const gathering = bus.callAll('probe', undefined, { signal: controller.signal, timeout: 10_000 });
    // Abort once only the slow worker is still working on it.
    await until(() => bus.workers().every((row) => row.inFlight === (row.id === slow.id ? 1 : 0)));
    controller.abort();
    const results = await gathering;
    const codes = results.map((result) => (result.ok ? 'ok' : result.error.code)).sort();
    expect(codes).toEqual(['ABORTED', 'REMOTE', 'ok']);
  });
});

describe('callPeers from a worker', () => {
  it('gathers from the other workers through the primary, with partial results at the deadline', async () => {
    bus = createPrimaryBus(contract);
    const [asker] = await forkReady(bus, 'echo-worker.ts', 1);
    const [fine] = await forkReady(bus, 'echo-worker.ts', 1);
    const [slow] = await forkReady(bus, 'echo-worker.ts', 1, { env: { PROBE: 'slow' } });
    const [thrower] = await forkReady(bus, 'echo-worker.ts', 1, { env: { PROBE: 'throw' } });
    const rows = await bus.call(asker!, 'gatherProbe', { timeout: 800 });
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.size).toBe(3);
    expect(byId.has(asker!.id)).toBe(false);
    expect(byId.get(fine!.id)).toEqual({ id: fine!.id, ok: true, value: { id: fine!.id } });
    expect(byId.get(slow!.id)).toMatchObject({ ok: false, code: 'TIMEOUT' });
    expect(byId.get(thrower!.id)).toMatchObject({ ok: false, code: 'REMOTE' });
    const withSelf = await bus.call(asker!, 'gatherProbe', { timeout: 800, includeSelf: true });
    expect(withSelf.map((row) => row.id)).toContain(asker!.id);
  });

  it('lists its peers with ids and pids', async () => {
    bus = createPrimaryBus(contract);
    const workers = await forkReady(bus, 'echo-worker.ts', 3);
    const [me, ...others] = workers;
    const peers = await bus.call(me!, 'peerList');
    expect(peers.map((peer) => peer.id).sort()).toEqual(others.map((worker) => worker.id).sort());
    for (const peer of peers) {
      expect(peer.pid).toBe(others.find((worker) => worker.id === peer.id)?.process.pid);
      expect(peer.state).toBe('ready');
    }
  });
});
