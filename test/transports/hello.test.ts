/**
 * The hello: what each end announces (features, its instance id), and what the other end does
 * with it: batches only to an end that reads them, numeric call ids only to an end that reads them
 * and whose hello named this end's instance.
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
  const hello = (instance: string, features?: string[], to?: string) =>
    pair.inject('a', { $cb: 1, k: 'ctl', c: 'hello', d: { instance, ack: true, features, to } });
  /** The instance the peer announced in its first hello. */
  const instance = () => (wire[0] as { d: { instance: string } }).d.instance;
  return { pair, peer, wire, hello, instance };
}

describe('the hello', () => {
  it('announces this version’s features and instance, and batches only to an end that announced batch', async () => {
    const { peer, wire, hello } = peerWithHandPlayedOther();
    await until(() => wire.length === 1);
    expect(wire[0]).toMatchObject({ k: 'ctl', c: 'hello', d: { features: ['batch', 'short-ids'] } });
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

  /** The ids of the requests the peer wrote, batches looked into. */
  const requestIds = (wire: WireMessage[]) =>
    wire
      .flatMap((message) => (message.k === 'batch' ? message.b : [message]))
      .flatMap((message) => (message.k === 'req' ? [message.id] : []));
  const call = (peer: ReturnType<typeof createPeer>) => void peer.call('x', 1).catch(() => {});

  it('numbers its calls once a hello that announced short ids named this end', async () => {
    const { peer, wire, hello, instance } = peerWithHandPlayedOther();
    await until(() => wire.length === 1);
    hello('new-end', ['batch', 'short-ids'], instance());
    await until(() => peer.connected);
    call(peer);
    call(peer);
    await until(() => requestIds(wire).length === 2);
    expect(requestIds(wire)).toEqual([0, 1]);
  });

  it('keeps string ids to an end that does not announce short ids, and answers its ack as v1 did', async () => {
    const { peer, wire, hello, instance } = peerWithHandPlayedOther();
    await until(() => wire.length === 1);
    hello('old-end', ['batch'], instance());
    await until(() => peer.connected);
    call(peer);
    await until(() => requestIds(wire).length === 1);
    expect(requestIds(wire)[0]).toBe(`${instance()}:0`);
    expect(wire.filter((message) => message.k === 'ctl')).toHaveLength(1);
  });

  it('keeps string ids after a hello that names another instance, and asks for one that names it', async () => {
    const { peer, wire, hello, instance } = peerWithHandPlayedOther();
    await until(() => wire.length === 1);
    // An answer meant for an earlier bus on this channel: it proves nothing about this one.
    hello('new-end', ['batch', 'short-ids'], 'an-earlier-bus');
    await until(() => wire.length === 2);
    expect(wire[1]).toMatchObject({ k: 'ctl', c: 'hello', d: { ack: false, to: 'new-end' } });
    call(peer);
    await until(() => requestIds(wire).length === 1);
    expect(requestIds(wire)[0]).toBe(`${instance()}:0`);
    hello('new-end', ['batch', 'short-ids'], instance());
    await until(() => peer.remoteHello?.to === instance());
    call(peer);
    await until(() => requestIds(wire).length === 2);
    expect(requestIds(wire)[1]).toBe(1);
    // One answer per instance heard: the second hello of the same end is not answered.
    expect(wire.filter((message) => message.k === 'ctl')).toHaveLength(2);
  });
});
