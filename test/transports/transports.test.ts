/**
 * The same peer logic over every transport with a real channel: a `child_process.fork` child, a
 * `worker_threads` Worker, a `MessageChannel`, and the in-memory pair. (Cluster workers are
 * covered by test/bus.)
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  childProcessTransport,
  createMemoryTransportPair,
  createPrimaryBus,
  createWorkerBus,
  type PrimaryBus,
  workerThreadTransport,
} from '../../src/index.js';
import { contract, type TestContract } from '../fixtures/contract.js';
import { fixturePath } from '../helpers/cluster.js';
import { until } from '../helpers/memory.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

function primaryBus(): PrimaryBus<TestContract> {
  const bus = createPrimaryBus(contract, {
    autoAttach: false,
    handlers: { config: ({ key }) => `cfg:${key}` },
  });
  cleanups.push(() => bus.close());
  return bus;
}

describe('child_process.fork', () => {
  it('carries calls both ways and reports PEER_GONE when the child dies', async () => {
    const child = fork(fixturePath('child-worker.ts'), { execArgv: ['--import', 'tsx'] });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    });
    const bus = primaryBus();
    bus.attachTransport(7, childProcessTransport(child), { pid: child.pid });
    await until(() => bus.worker(7)?.state === 'ready', 10_000);
    await expect(bus.call(7, 'echo', { text: 'a' })).resolves.toEqual({ text: 'child:a' });
    await expect(bus.call(7, 'askPrimary', { key: 'k' })).resolves.toBe('cfg:k');
    // The child learned its id from the primary's handshake.
    await expect(bus.call(7, 'callInfo')).resolves.toMatchObject({ caller: '7' });
    const pending = bus.call(7, 'sleep', { ms: 20_000 });
    child.kill('SIGKILL');
    await expect(pending).rejects.toMatchObject({ code: 'PEER_GONE' });
  });
});

describe('worker_threads', () => {
  it('carries calls both ways over a Worker and its parentPort', async () => {
    const thread = new Worker(fixturePath('thread-bootstrap.mjs'), {
      workerData: { entry: pathToFileURL(fixturePath('thread-worker.ts')).href },
    });
    cleanups.push(() => thread.terminate());
    const bus = primaryBus();
    bus.attachTransport(3, workerThreadTransport(thread), { pid: process.pid });
    await until(() => bus.worker(3)?.state === 'ready', 10_000);
    await expect(bus.call(3, 'echo', { text: 't' })).resolves.toEqual({ text: 'thread:t' });
    await expect(bus.call(3, 'askPrimary', { key: 'x' })).resolves.toBe('cfg:x');
    const pending = bus.call(3, 'sleep', { ms: 20_000 });
    await until(() => bus.worker(3)?.inFlight === 1);
    await thread.terminate();
    await expect(pending).rejects.toMatchObject({ code: 'PEER_GONE' });
  });

  it('works over a bare MessageChannel, and closing a port is PEER_GONE', async () => {
    const { port1, port2 } = new MessageChannel();
    const bus = primaryBus();
    bus.attachTransport(1, workerThreadTransport(port1));
    const worker = createWorkerBus(contract, {
      transport: workerThreadTransport(port2),
      handlers: {
        echo: ({ text }) => ({ text: text.toUpperCase() }),
        sleep: () => new Promise<number>(() => {}),
      },
    });
    cleanups.push(() => worker.close());
    await worker.ready();
    await until(() => bus.worker(1)?.state === 'ready');
    await expect(bus.call(1, 'echo', { text: 'port' })).resolves.toEqual({ text: 'PORT' });
    await expect(worker.call('config', { key: 'p' })).resolves.toBe('cfg:p');
    const pending = bus.call(1, 'sleep', { ms: 1 });
    await until(() => worker.handling === 1);
    port2.close();
    await expect(pending).rejects.toMatchObject({ code: 'PEER_GONE' });
    await until(() => bus.worker(1) === undefined);
  });
});

describe('in-memory pair', () => {
  it.each(['json', 'advanced'] as const)('copies like %s serialization would', async (serialization) => {
    const pair = createMemoryTransportPair({ serialization });
    const seen: unknown[] = [];
    pair.b.onMessage((value) => seen.push(value));
    const sent = { $cb: 1, k: 'evt', n: 'x', p: { when: new Date(0), map: new Map([[1, 2]]) } } as const;
    await pair.a.send(sent as never);
    await until(() => seen.length === 1);
    const payload = (seen[0] as { p: { when: unknown; map: unknown } }).p;
    if (serialization === 'json') {
      expect(payload).toEqual({ when: '1970-01-01T00:00:00.000Z', map: {} });
    } else {
      expect(payload.when).toBeInstanceOf(Date);
      expect(payload.map).toBeInstanceOf(Map);
    }
    pair.close();
    await expect(pair.a.send(sent as never)).rejects.toMatchObject({ code: 'PEER_GONE' });
  });

  it('takes a burst in one turn and writes it in order (the bound is for a backed-up channel)', async () => {
    const pair = createMemoryTransportPair({ maxPendingSends: 2 });
    const seen: unknown[] = [];
    pair.b.onMessage((value) => seen.push((value as { n: string }).n));
    const sends = ['a', 'b', 'c', 'd'].map((n) => pair.a.send({ $cb: 1, k: 'evt', n }));
    expect(pair.a.pendingSends).toBe(4);
    await Promise.all(sends);
    await pair.a.flush();
    expect(pair.a.pendingSends).toBe(0);
    await until(() => seen.length === 4);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    pair.close();
  });
});
