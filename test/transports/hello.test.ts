/**
 * The hello: what each end announces (features, its instance id), and what the other end does
 * with it — batches only to an end that reads them, and a new instance behind the same channel
 * (a restarted bus) ends what the old one left open instead of letting it meet the new ids.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServedProcedure } from '../../src/call.js';
import { createMemoryTransportPair, createPeer } from '../../src/index.js';
import type { WireMessage } from '../../src/protocol.js';
import { until } from '../helpers/memory.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

const hooks = (resolve: (method: string) => ServedProcedure | undefined = () => undefined) => ({
  resolve,
  event: () => {},
  control: () => {},
  error: () => {},
  closed: () => {},
});

/** One peer on end `a`; the test plays the other end by hand on `b`. */
function peerWithHandPlayedOther(resolve?: (method: string) => ServedProcedure | undefined) {
  const pair = createMemoryTransportPair();
  const wire: WireMessage[] = [];
  pair.b.onMessage((value) => wire.push(value as WireMessage));
  const peer = createPeer({
    transport: pair.a,
    localName: 'a',
    remoteName: 'b',
    remoteCaller: { kind: 'primary' },
    timeout: 0,
    hooks: hooks(resolve),
  });
  cleanups.push(() => {
    peer.close();
    pair.close();
  });
  const hello = (instance: string, features?: string[]) =>
    pair.inject('a', { $cb: 1, k: 'ctl', c: 'hello', d: { instance, ack: true, features } });
  return { pair, peer, wire, hello };
}

describe('the hello', () => {
  it('announces this version’s features and instance, and batches only to an end that announced batch', async () => {
    const { peer, wire, hello } = peerWithHandPlayedOther();
    await until(() => wire.length === 1);
    expect(wire[0]).toMatchObject({ k: 'ctl', c: 'hello', d: { features: ['batch', 'sid'] } });
    expect(typeof (wire[0] as { d: { instance: unknown } }).d.instance).toBe('string');
    hello('old-end'); // no features: protocol v1
    await until(() => peer.connected);
    for (let i = 0; i < 3; i++) void peer.call('x', i).catch(() => {});
    await until(() => wire.length === 4);
    expect(wire.slice(1).map((message) => message.k)).toEqual(['req', 'req', 'req']);
  });

  it('batches to an end that announced batch', async () => {
    const { peer, wire, hello } = peerWithHandPlayedOther();
    hello('new-end', ['batch', 'sid']);
    await until(() => peer.connected);
    for (let i = 0; i < 3; i++) void peer.call('x', i).catch(() => {});
    await until(() => wire.some((message) => message.k === 'batch'));
    const batch = wire.find((message) => message.k === 'batch') as { b: Array<{ k: string; i: number }> };
    expect(batch.b.map((message) => message.i)).toEqual([0, 1, 2]);
  });

  it('a new instance behind the same channel fails the calls the old one had and aborts its handlers', async () => {
    let aborted: unknown;
    const { peer, wire, hello, pair } = peerWithHandPlayedOther(
      () =>
        ({
          def: {
            input: undefined,
            output: { '~standard': { version: 1, vendor: 't', validate: (value: unknown) => ({ value }) } },
          },
          handler: (_input: unknown, ctx: { signal: AbortSignal }) =>
            new Promise((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborted = ctx.signal.reason;
                resolve('late');
              });
            }),
        }) as unknown as ServedProcedure,
    );
    hello('first', ['batch', 'sid']);
    await until(() => peer.connected);
    const pending = peer.call('x', 1);
    pair.inject('a', { $cb: 1, k: 'req', id: '0', m: 'slow' });
    await until(() => peer.handling === 1);
    hello('second', ['batch', 'sid']);
    await expect(pending).rejects.toMatchObject({
      code: 'PEER_GONE',
      message: expect.stringContaining('restarted'),
    });
    await until(() => aborted !== undefined);
    expect(aborted).toMatchObject({ code: 'PEER_GONE' });
    // The old call's late reply is not sent: a new call of the new instance may hold its id now.
    await new Promise((resolve) => setImmediate(resolve));
    const replies = wire
      .flatMap((message) => (message.k === 'batch' ? message.b : [message]))
      .filter((m) => m.k === 'res');
    expect(replies).toEqual([]);
    expect(peer.handling).toBe(0);
  });
});
