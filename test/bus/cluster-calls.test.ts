/**
 * Calls over real cluster IPC: both directions, both serialization modes, errors, validation,
 * dead workers, foreign traffic.
 */
import cluster from 'node:cluster';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrimaryBus, type PrimaryBus, RemoteError } from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import {
  foreignMessages,
  forkFixture,
  forkReady,
  nextMessage,
  useWorkerCleanup,
  waitForReady,
} from '../helpers/cluster.js';
import { until } from '../helpers/memory.js';

useWorkerCleanup();

let bus: PrimaryBus<TestContract> | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

function primaryBus(options: Parameters<typeof createPrimaryBus<TestContract>>[1] = {}) {
  bus = createPrimaryBus(contract, {
    handlers: { config: ({ key }, ctx) => `${key}@${ctx.caller.kind === 'worker' ? ctx.caller.id : '?'}` },
    ...options,
  });
  return bus;
}

describe.each(['json', 'advanced'] as const)('over %s serialization', (serialization) => {
  it('calls a worker and the worker calls the primary, typed and validated', async () => {
    const bus = primaryBus();
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1, { serialization });
    const stats = await bus.call(worker!, 'stats');
    expect(stats).toEqual({ pid: worker!.process.pid, id: worker!.id, handled: 0 });
    await expect(bus.call(worker!.id, 'echo', { text: 'hi' })).resolves.toEqual({ text: 'hi' });
    await expect(bus.call(worker!, 'askPrimary', { key: 'port' })).resolves.toBe(`port@${worker!.id}`);
  });

  it('delivers a handler error as REMOTE with name, message, code, stack, cause and data', async () => {
    const bus = primaryBus();
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1, { serialization });
    const error = (await bus
      .call(worker!, 'fail', { message: 'out of range' })
      .catch((e: unknown) => e)) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.code).toBe('REMOTE');
    expect(error.message).toBe(`call "fail" to worker ${worker!.id} failed: RangeError: out of range`);
    expect(error.remote).toMatchObject({ name: 'RangeError', message: 'out of range', code: 'E_FIXTURE' });
    expect(error.remote.stack).toContain('echo-worker.ts');
    expect(error.data).toEqual({ retry: false, attempts: 3 });
    expect((error.cause as Error).name).toBe('RangeError');
    expect(((error.cause as Error).cause as Error).message).toBe('the root cause');
  });
});

describe('validation across processes', () => {
  it('reports bad output from the worker with method, side and path', async () => {
    const bus = primaryBus();
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    await expect(bus.call(worker!, 'badOutput')).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(
        new RegExp(
          `^output of call "badOutput" failed validation on worker ${worker!.id} before replying at "count"`,
        ),
      ),
    });
  });

  it('revalidates on receipt: a raw, unvalidated request with bad input is refused by the worker', async () => {
    const bus = primaryBus();
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    // Bypass the primary's validation: a hand-written envelope, as a buggy sender would produce.
    worker!.send({ $cb: 1, k: 'req', id: 'raw:1', m: 'echo', i: { text: 42 } });
    const reply = await new Promise<any>((resolve) =>
      worker!.on('message', (message) => message?.id === 'raw:1' && resolve(message)),
    );
    expect(reply.k).toBe('err');
    expect(reply.e.code).toBe('VALIDATION');
    expect(reply.e.message).toMatch(
      /^input of call "echo" failed validation on worker \d+ on receipt at "text"/,
    );
  });
});

describe('dead and dying workers', () => {
  it('rejects pending calls with PEER_GONE within a second of kill -9, not at their timeout', async () => {
    const bus = primaryBus();
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    const pending = [
      bus.call(worker!, 'sleep', { ms: 20_000 }, { timeout: 25_000 }),
      bus.call(worker!, 'sleep', { ms: 20_000 }, { timeout: 25_000 }),
    ];
    const killedAt = Date.now();
    worker!.process.kill('SIGKILL');
    const results = await Promise.allSettled(pending);
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'PEER_GONE' });
    }
  });

  it('turns a send to a dead channel into PEER_GONE instead of crashing the primary', async () => {
    const bus = primaryBus();
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    const exited = once(worker!, 'exit');
    worker!.process.kill('SIGKILL');
    // Fire calls while the channel is dying and after it died: every one must settle as PEER_GONE.
    const racing = Array.from({ length: 20 }, () => bus.call(worker!, 'stats').catch((e: unknown) => e));
    await exited;
    const after = await bus.call(worker!, 'stats').catch((e: unknown) => e);
    for (const error of [...(await Promise.all(racing)), after])
      expect(error).toMatchObject({ code: 'PEER_GONE' });
    await expect(bus.call(worker!.id, 'stats')).rejects.toMatchObject({ code: 'PEER_GONE' });
  });

  it('aborts the handler signal on the worker when the caller aborts', async () => {
    const bus = primaryBus();
    const [worker] = await forkReady(bus, 'echo-worker.ts', 1);
    const controller = new AbortController();
    const call = bus.call(worker!, 'sleep', { ms: 10_000 }, { signal: controller.signal });
    const reported = nextMessage(worker!, (message) => message?.aborted === 10_000);
    setTimeout(() => controller.abort(), 50);
    await expect(call).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(reported).resolves.toMatchObject({ reason: 'AbortedError' });
  });
});

describe('foreign traffic and attaching', () => {
  it('leaves PM2-style and app messages untouched while calls flow', async () => {
    const bus = primaryBus();
    const worker = forkFixture('echo-worker.ts');
    const foreign = foreignMessages(worker);
    await waitForReady(bus, worker);
    await bus.call(worker, 'stats');
    await until(() => foreign.some((message) => (message as { app?: string }).app === 'ready'));
    expect(foreign).toContainEqual({ type: 'process:msg', data: { hello: 'pm2' } });
    expect(foreign).toContainEqual({ app: 'ready', pid: worker.process.pid });
    // And a foreign message sent to the worker does not disturb it.
    worker.send({ type: 'process:msg', data: 'from pm2' });
    worker.send('plain string');
    await expect(bus.call(worker, 'echo', { text: 'still fine' })).resolves.toEqual({ text: 'still fine' });
  });

  it('attaches explicitly when autoAttach is off', async () => {
    const bus = primaryBus({ autoAttach: false });
    const worker = forkFixture('echo-worker.ts');
    expect(bus.workers()).toEqual([]);
    bus.attach(worker);
    await waitForReady(bus, worker);
    await expect(bus.call(worker, 'echo', { text: 'attached' })).resolves.toEqual({ text: 'attached' });
  });

  it('keeps correlation ids unique across respawns and a primary bus restart', async () => {
    const first = primaryBus();
    const ids: string[] = [];
    const [a] = await forkReady(first, 'echo-worker.ts', 1);
    for (let i = 0; i < 5; i++) ids.push((await first.call(a!, 'callInfo')).callId);
    a!.process.kill('SIGKILL');
    await once(a!, 'exit');
    const [b] = await forkReady(first, 'echo-worker.ts', 1);
    for (let i = 0; i < 5; i++) ids.push((await first.call(b!, 'callInfo')).callId);
    first.close();
    // A new primary bus finds the running worker and redoes the handshake.
    const second = primaryBus();
    expect(second.workers().map((row) => row.id)).toEqual([b!.id]);
    for (let i = 0; i < 5; i++) ids.push((await second.call(b!, 'callInfo')).callId);
    expect(new Set(ids).size).toBe(15);
    expect(cluster.isPrimary).toBe(true);
  });
});
