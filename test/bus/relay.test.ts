/** Worker → worker calls relayed by the primary, over real workers. */
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus, type RemoteError } from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import { foreignMessages, forkReady, nextMessage, useWorkerCleanup } from '../helpers/cluster.js';
import { until } from '../helpers/memory.js';

useWorkerCleanup();

let bus: PrimaryBus<TestContract> | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

describe('worker to worker', () => {
  it('reaches another worker and the handler sees who called', async () => {
    bus = createPrimaryBus(contract);
    const [a, b] = await forkReady(bus, 'echo-worker.ts', 2);
    const stats = await bus.call(a!, 'askPeer', { id: b!.id });
    expect(stats).toMatchObject({ id: b!.id, pid: b!.process.pid });
  });

  it('times out with TIMEOUT and aborts the target handler', async () => {
    bus = createPrimaryBus(contract);
    const [a, b] = await forkReady(bus, 'echo-worker.ts', 2);
    const aborted = nextMessage(b!, (message) => message?.aborted === 10_000);
    const error = (await bus
      .call(a!, 'askPeerSleep', { id: b!.id, ms: 10_000, timeout: 300 })
      .catch((e) => e)) as RemoteError;
    // The primary sees REMOTE (worker a's handler threw); inside worker a the error was TIMEOUT.
    expect(error.code).toBe('REMOTE');
    expect(error.remote).toMatchObject({ name: 'TimeoutError', code: 'TIMEOUT' });
    expect(error.remote.message).toBe(
      `call "sleep" to worker ${b!.id} (via the primary) timed out after 300 ms`,
    );
    await expect(aborted).resolves.toMatchObject({ reason: 'TimeoutError' });
  });

  it('fails with PEER_GONE when the target is killed mid-call, well before the timeout', async () => {
    bus = createPrimaryBus(contract);
    const [a, b] = await forkReady(bus, 'echo-worker.ts', 2);
    const call = bus.call(a!, 'askPeerSleep', { id: b!.id, ms: 20_000, timeout: 25_000 }).catch((e) => e);
    // The primary's forwarded call to b is pending: the relay reached b.
    await until(() => bus!.worker(b!.id)?.inFlight === 1);
    const killedAt = Date.now();
    b!.process.kill('SIGKILL');
    const error = (await call) as RemoteError;
    // Well before the 25 s timeout; the margin absorbs a loaded CI machine.
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    expect(error.remote).toMatchObject({ name: 'PeerGoneError', code: 'PEER_GONE' });
  });

  it('fails with PEER_GONE for a worker id that does not exist', async () => {
    bus = createPrimaryBus(contract);
    const [a] = await forkReady(bus, 'echo-worker.ts', 1);
    const error = (await bus.call(a!, 'askPeer', { id: 999 }).catch((e) => e)) as RemoteError;
    expect(error.remote).toMatchObject({ code: 'PEER_GONE' });
    expect(error.remote.message).toContain('worker 999 does not exist or has exited');
  });

  it('leaves foreign messages untouched while relaying', async () => {
    bus = createPrimaryBus(contract);
    const [a, b] = await forkReady(bus, 'echo-worker.ts', 2);
    const foreign = foreignMessages(b!);
    b!.send({ type: 'process:msg', data: 'pm2 ping' });
    await bus.call(a!, 'askPeer', { id: b!.id });
    await bus.call(b!, 'echo', { text: 'x' });
    // Only the fixture's own app message; nothing of ours leaked, nothing echoed back.
    expect(foreign.filter((message) => !(message as { app?: string }).app)).toEqual([]);
  });
});
