/**
 * A relay answers in the turn the answer arrives: the primary passes a worker's call on to
 * another link as soon as the caller's message has been handled, and the reply back as soon as
 * the target's reply has been, with no promise hop or end-of-turn wait between the two links
 * (each a few µs on a path that runs with cold caches, twice per relayed call).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPeer, type Peer, type PeerHooks } from '../src/index.js';
import type { RequestMessage, WireMessage } from '../src/protocol.js';
import { createTransport, type RawChannel } from '../src/transports/channel.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const step of cleanups.splice(0)) step();
});

/** The primary's end of one link, over a channel that records each write the moment it happens. */
function link(name: string, relay?: PeerHooks['relay']) {
  const writes: WireMessage[] = [];
  let arrive: ((value: unknown) => void) | undefined;
  const channel: RawChannel = {
    name,
    isOpen: () => true,
    write(message, done) {
      writes.push(JSON.parse(JSON.stringify(message)) as WireMessage);
      process.nextTick(done, null);
    },
    listen(onMessage) {
      arrive = onMessage;
      return () => {};
    },
  };
  const peer: Peer = createPeer({
    transport: createTransport(channel),
    localName: 'the primary',
    remoteName: name,
    remoteCaller: { kind: 'worker', id: 1 },
    timeout: 0,
    hooks: { resolve: () => undefined, relay, event() {}, control() {}, error() {}, closed() {} },
  });
  cleanups.push(() => peer.close());
  const deliver = (value: unknown) => arrive?.(value);
  // The other end's bus says hello (a version that reads batches and string ids).
  deliver({ $cb: 1, k: 'ctl', c: 'hello', d: { instance: `${name}-bus`, ack: true, features: ['batch'] } });
  return { peer, writes, deliver };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('a relayed call', () => {
  it('goes on, and its answer comes back, in the turn each arrives', async () => {
    const target = link('worker 2');
    const caller = link('worker 1', (request, abort, reply) =>
      target.peer.relay(request.m, request.i, { signal: abort, from: 1 }, reply),
    );
    await nextTurn();
    caller.writes.length = 0; // the hellos
    target.writes.length = 0;

    caller.deliver({ $cb: 1, k: 'req', id: 'w1:1', m: 'add', i: { a: 1, b: 2 }, to: 2 });
    expect(target.writes).toMatchObject([{ k: 'req', m: 'add', i: { a: 1, b: 2 }, f: 1 }]);
    const forwarded = target.writes[0] as RequestMessage;
    target.deliver({ $cb: 1, k: 'res', id: forwarded.id, o: 3 });
    expect(caller.writes).toEqual([{ $cb: 1, k: 'res', id: 'w1:1', o: 3 }]);

    // A failure travels back the same way, untouched.
    caller.deliver({ $cb: 1, k: 'req', id: 'w1:2', m: 'add', i: { a: 1 }, to: 2 });
    const second = target.writes[1] as RequestMessage;
    const e = { name: 'ValidationError', message: 'input is bad', code: 'VALIDATION' };
    target.deliver({ $cb: 1, k: 'err', id: second.id, e, b: true });
    expect(caller.writes[1]).toEqual({ $cb: 1, k: 'err', id: 'w1:2', e, b: true });
    expect(caller.peer.handling).toBe(0);
    expect(target.peer.inFlight).toBe(0);
  });

  it('answers once, with the failure, when the target link closes under it', async () => {
    const target = link('worker 2');
    const caller = link('worker 1', (request, abort, reply) =>
      target.peer.relay(request.m, request.i, { signal: abort, from: 1 }, reply),
    );
    await nextTurn();
    caller.writes.length = 0;
    caller.deliver({ $cb: 1, k: 'req', id: 'w1:1', m: 'add', i: { a: 1, b: 2 }, to: 2 });
    target.peer.close();
    await nextTurn();
    expect(caller.writes).toMatchObject([{ k: 'err', id: 'w1:1', e: { code: 'CLOSED' }, b: true }]);
    expect(caller.peer.handling).toBe(0);
  });
});
