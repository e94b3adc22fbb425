/**
 * Coalescing in the one outbound path: what is posted in one turn goes out as one batch envelope,
 * in order, once the other end said it reads batches; a size cap; a large message alone; an
 * unserializable one failing alone; the bound still counting messages; no timer anywhere; and the
 * receiver unpacking each element exactly as if it had arrived alone.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryTransportPair } from '../../src/index.js';
import type { Message, WireMessage } from '../../src/protocol.js';
import { createTransport, EAGER_WRITE_AT, type RawChannel } from '../../src/transports/channel.js';
import { outboundContract } from '../fixtures/outbound-contract.js';
import { memoryCluster, until } from '../helpers/memory.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const step of cleanups.splice(0).reverse()) await step();
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const event = (n: string, p?: unknown): Message => ({ $cb: 1, k: 'evt', n, p });

/** A channel that records each write; `hold` keeps their callbacks until `complete()`. */
function recordingChannel({ hold = false } = {}) {
  const writes: WireMessage[] = [];
  const pending: Array<(error?: Error | null) => void> = [];
  const channel: RawChannel = {
    name: 'the recording channel',
    isOpen: () => true,
    write(message, done) {
      JSON.stringify(message); // serializes like json IPC would: throws on BigInt
      writes.push(message);
      if (hold) pending.push(done);
      else process.nextTick(done, null);
    },
    listen: () => () => {},
  };
  const shape = () =>
    writes.map((write) =>
      write.k === 'batch' ? write.b.map((m) => (m as { n: string }).n) : (write as { n: string }).n,
    );
  return {
    channel,
    writes,
    shape,
    complete() {
      for (const done of pending.splice(0)) done(null);
    },
    completeOldest() {
      pending.shift()?.(null);
    },
  };
}

/** A recording channel whose arrivals the test makes: `deliver(value)` is one incoming message. */
function deliveringChannel() {
  const rec = recordingChannel();
  let arrive: ((value: unknown) => void) | undefined;
  rec.channel.listen = (onMessage) => {
    arrive = onMessage;
    return () => {};
  };
  return { ...rec, deliver: (value: unknown) => arrive?.(value) };
}

function outcomes() {
  const seen: string[] = [];
  const done = (name: string) => (error?: Error) =>
    seen.push(`${name}:${error ? (error as { code?: string }).code : 'ok'}`);
  return { seen, done };
}

describe('the outbound batcher', () => {
  it('sends single messages until the other end said it reads batches, then one batch per turn', async () => {
    const rec = recordingChannel();
    const transport = createTransport(rec.channel);
    for (const n of ['a', 'b']) transport.post(event(n), () => {});
    await nextTurn();
    transport.useBatches?.(true);
    for (const n of ['c', 'd', 'e']) transport.post(event(n), () => {});
    await nextTurn();
    transport.useBatches?.(false);
    for (const n of ['f', 'g']) transport.post(event(n), () => {});
    await nextTurn();
    expect(rec.shape()).toEqual(['a', 'b', ['c', 'd', 'e'], 'f', 'g']);
    transport.dispose();
  });

  it('writes what handling one incoming message posted as soon as its listeners return, as one batch', async () => {
    const rec = deliveringChannel();
    const { deliver } = rec;
    const transport = createTransport(rec.channel);
    transport.useBatches?.(true);
    // A synchronous handler answers what arrived: its replies must not wait for the microtask.
    transport.onMessage((value) => {
      for (const n of value as string[]) transport.post(event(n), () => {});
    });
    deliver(['a', 'b']);
    expect(rec.shape()).toEqual([['a', 'b']]);
    deliver(['c']);
    expect(rec.shape()).toEqual([['a', 'b'], 'c']);
    // Posted outside a message's handling: still coalesced until the end of the turn.
    transport.post(event('d'), () => {});
    transport.post(event('e'), () => {});
    expect(rec.shape()).toEqual([['a', 'b'], 'c']);
    await nextTurn();
    expect(rec.shape()).toEqual([['a', 'b'], 'c', ['d', 'e']]);
    transport.dispose();
  });

  it('writes what handling a message posts to another link when the handling returns (a relay)', async () => {
    const incoming = deliveringChannel();
    const { deliver } = incoming;
    const from = createTransport(incoming.channel);
    const onward = recordingChannel();
    const to = createTransport(onward.channel);
    to.useBatches?.(true);
    // A relay: what arrives on one link goes out on another, as the primary does for a worker.
    from.onMessage((value) => {
      for (const n of value as string[]) to.post(event(n), () => {});
    });
    deliver(['a', 'b']);
    expect(onward.shape()).toEqual([['a', 'b']]);
    // Handled inside another message's handling (a frame's element): written when the outer returns.
    const outer = deliveringChannel();
    const outerTransport = createTransport(outer.channel);
    outerTransport.onMessage((value) => {
      deliver(value);
      expect(onward.shape()).toEqual([['a', 'b']]);
      deliver(['d']);
    });
    outer.deliver(['c']);
    expect(onward.shape()).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    // Outside any handling: still at the end of the turn.
    to.post(event('e'), () => {});
    expect(onward.shape()).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    await nextTurn();
    expect(onward.shape()).toEqual([['a', 'b'], ['c', 'd'], 'e']);
    for (const transport of [from, to, outerTransport]) transport.dispose();
  });

  it('sends a large message alone, between the batches of the small ones around it, in order', async () => {
    const rec = recordingChannel();
    const transport = createTransport(rec.channel, { maxBatchBytes: 4096 });
    transport.useBatches?.(true);
    const big = 'x'.repeat(2000);
    for (const n of ['a', 'b', 'c']) transport.post(event(n), () => {});
    transport.post(event('BIG', { big }), () => {});
    for (const n of ['d', 'e']) transport.post(event(n), () => {});
    await nextTurn();
    expect(rec.shape()).toEqual([['a', 'b', 'c'], 'BIG', ['d', 'e']]);
    transport.dispose();
  });

  it('caps a batch at maxBatchBytes and keeps the order across batches', async () => {
    const rec = recordingChannel();
    const transport = createTransport(rec.channel, { maxBatchBytes: 1024 });
    transport.useBatches?.(true);
    const names = Array.from({ length: 200 }, (_, i) => `e${i}`);
    const { seen, done } = outcomes();
    for (const n of names) transport.post(event(n, { s: 'hello' }), done(n));
    await nextTurn();
    expect(rec.writes.length).toBeGreaterThan(5);
    for (const write of rec.writes) expect(JSON.stringify(write).length).toBeLessThan(2048);
    expect(rec.shape().flat()).toEqual(names);
    expect(seen).toEqual(names.map((n) => `${n}:ok`));
    transport.dispose();
  });

  it('fails only the message that cannot be serialized, not its batch', async () => {
    const pair = createMemoryTransportPair({ serialization: 'json' });
    cleanups.push(() => pair.close());
    pair.a.useBatches?.(true);
    const received: string[] = [];
    pair.b.onMessage((value) => {
      const message = value as WireMessage;
      for (const m of message.k === 'batch' ? message.b : [message]) received.push((m as { n: string }).n);
    });
    const results = await Promise.allSettled([
      pair.a.send(event('a')),
      pair.a.send(event('bad', { n: 1n })),
      pair.a.send(event('c')),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'VALIDATION' });
    await until(() => received.length === 2);
    expect(received).toEqual(['a', 'c']);
  });

  it('counts the messages of a batch in the send bound', async () => {
    const rec = recordingChannel({ hold: true });
    const transport = createTransport(rec.channel, { maxPendingSends: 3 });
    transport.useBatches?.(true);
    const { seen, done } = outcomes();
    for (const n of ['a', 'b', 'c', 'd', 'e']) transport.post(event(n), done(n));
    await nextTurn();
    expect(rec.writes).toHaveLength(1);
    expect(transport.pendingSends).toBe(5);
    transport.post(event('late'), done('late'));
    transport.post({ $cb: 1, k: 'res', id: '1' }, done('reply'));
    expect(seen).toEqual(['late:OVERLOADED']);
    await nextTurn();
    rec.complete();
    await transport.flush();
    expect(seen).toEqual(['late:OVERLOADED', 'a:ok', 'b:ok', 'c:ok', 'd:ok', 'e:ok', 'reply:ok']);
    transport.dispose();
  });

  it('writes after EAGER_WRITE_AT messages during a long turn, then after twice as many each time', async () => {
    const rec = recordingChannel();
    const transport = createTransport(rec.channel);
    transport.useBatches?.(true);
    const first = EAGER_WRITE_AT;
    const second = first + 2 * EAGER_WRITE_AT;
    const names = Array.from({ length: second + 10 }, (_, i) => `e${i}`);
    const { seen, done } = outcomes();
    for (const [i, n] of names.entries()) {
      transport.post(event(n), done(n));
      // Written the moment the queue reaches the threshold, not at the end of the turn.
      expect(rec.writes).toHaveLength(i + 1 < first ? 0 : i + 1 < second ? 1 : 2);
    }
    await nextTurn();
    expect(rec.shape()).toEqual([names.slice(0, first), names.slice(first, second), names.slice(second)]);
    expect(seen).toEqual(names.map((n) => `${n}:ok`));
    expect(transport.pendingSends).toBe(0);
    // The next turn starts over at EAGER_WRITE_AT.
    for (const n of names.slice(0, first)) transport.post(event(n), () => {});
    expect(rec.writes).toHaveLength(4);
    await nextTurn();
    transport.dispose();
  });

  it('flush waits for what was accepted before it, not for what a steady sender posts after', async () => {
    const rec = recordingChannel({ hold: true });
    const transport = createTransport(rec.channel);
    const { seen, done } = outcomes();
    transport.post(event('before'), done('before'));
    let flushed = false;
    const flush = transport.flush().then(() => {
      flushed = true;
    });
    // A sender that never stops: something posted after the flush is always waiting.
    transport.post(event('after'), done('after'));
    await nextTurn();
    expect(rec.writes).toHaveLength(2);
    rec.completeOldest();
    await flush;
    expect(flushed).toBe(true);
    expect(seen).toEqual(['before:ok']);
    expect(transport.pendingSends).toBe(1);
    rec.complete();
    transport.dispose();
  });

  it('writes what the other listeners posted even when one listener throws', async () => {
    const rec = deliveringChannel();
    const transport = createTransport(rec.channel);
    transport.onMessage(() => transport.post(event('reply'), () => {}));
    let throws = true;
    transport.onMessage(() => {
      if (!throws) return;
      throws = false;
      throw new Error('a listener failed');
    });
    expect(() => rec.deliver(event('in'))).toThrow('a listener failed');
    // Written when the handling returned, threw or not, not at the end of the turn.
    expect(rec.shape()).toEqual(['reply']);
    // The next message is handled as usual.
    rec.deliver(event('in2'));
    expect(rec.shape()).toEqual(['reply', 'reply']);
    await nextTurn();
    transport.dispose();
  });

  it('flushes within the turn, without a timer', async () => {
    vi.useFakeTimers();
    const pair = createMemoryTransportPair();
    cleanups.push(() => pair.close());
    pair.a.useBatches?.(true);
    const received: unknown[] = [];
    pair.b.onMessage((value) => received.push(value));
    // No fake timer is ever advanced: if the flush waited on one, these would never resolve.
    await Promise.all([pair.a.send(event('a')), pair.a.send(event('b'))]);
    expect(received).toEqual([{ $cb: 1, k: 'batch', b: [event('a'), event('b')] }]);
  });
});

describe('the receiver of a batch', () => {
  it('handles each element as if alone, in order, and reports each bad one', async () => {
    const env = await memoryCluster(outboundContract, {
      primary: { handlers: { twice: (n: number) => n * 2 } },
    });
    cleanups.push(env.close);
    const [worker] = env.workers;
    const notes: number[] = [];
    const errors: string[] = [];
    worker!.on('note', ({ n }) => notes.push(n));
    worker!.on('error', (error) => errors.push(error.message));
    env.pairs[0]!.inject('b', {
      $cb: 1,
      k: 'batch',
      b: [
        { $cb: 1, k: 'evt', n: 'note', p: { n: 1 } },
        { k: 'evt', n: 'note', p: { n: 99 } },
        { $cb: 1, k: 'batch', b: [{ $cb: 1, k: 'evt', n: 'note', p: { n: 98 } }] },
        { $cb: 1, k: 'evt', n: 'note', p: { n: 'not a number' } },
        { $cb: 1, k: 'evt', n: 'note', p: { n: 2 } },
      ],
    });
    env.pairs[0]!.inject('b', { $cb: 1, k: 'batch', b: 'not a list' });
    await until(() => notes.length === 2 && errors.length === 4);
    expect(notes).toEqual([1, 2]);
    expect(errors[0]).toMatch(/without the \$cb tag/);
    expect(errors[1]).toMatch(/batch inside a batch/);
    expect(errors[2]).toMatch(/event "note"/);
    expect(errors[3]).toMatch(/batch without a message list/);
    // The link still works both ways.
    await expect(worker!.call('twice', 4)).resolves.toBe(8);
  });
});
