/**
 * The fleet's pure parts, without processes: option checks (eager, naming the option), subject
 * tokens, frame and heartbeat decoding of hostile input (never throws, never accepts junk), and
 * how a host channel turns what its transport writes into NATS messages.
 */
import { describe, expect, it } from 'vitest';
import { parseHeartbeat } from '../../src/fleet/hosts.js';
import { resolveFleetOptions } from '../../src/fleet/options.js';
import { fleetSubjects, isSubjectToken } from '../../src/fleet/subjects.js';
import type { Message } from '../../src/protocol.js';
import {
  createHostChannel,
  decodeFrame,
  encodeFrame,
  loadNats,
  type NatsConnectionLike,
} from '../../src/transports/nats.js';

describe('fleet options', () => {
  it('fills in defaults and passes client options through', () => {
    const resolved = resolveFleetOptions({ servers: '127.0.0.1:4222', host: 'web-1', token: 's3cret' });
    expect(resolved).toMatchObject({ host: 'web-1', app: 'app', heartbeat: 300, missedHeartbeats: 3 });
    expect(resolved.client).toMatchObject({
      servers: ['127.0.0.1:4222'],
      token: 's3cret',
      pingInterval: 1_500,
      maxReconnectAttempts: -1,
    });
    expect(resolved.client).not.toHaveProperty('host');
    expect(resolveFleetOptions({ servers: ['a:1'] }).host).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('rejects bad options eagerly, naming them', () => {
    expect(() => resolveFleetOptions({ servers: [] })).toThrow(/fleet.servers/);
    expect(() => resolveFleetOptions({ servers: 'a:1', host: 'web.1' })).toThrow(/fleet.host/);
    expect(() => resolveFleetOptions({ servers: 'a:1', app: 'a b' })).toThrow(/fleet.app/);
    expect(() => resolveFleetOptions({ servers: 'a:1', heartbeat: 0 })).toThrow(RangeError);
    expect(() => resolveFleetOptions({ servers: 'a:1', missedHeartbeats: 1.5 })).toThrow(/missedHeartbeats/);
    expect(() => resolveFleetOptions(null as never)).toThrow(TypeError);
  });
});

describe('fleet subjects', () => {
  it('only single tokens make subjects', () => {
    expect(isSubjectToken('web-1_a')).toBe(true);
    for (const bad of ['', 'a.b', 'a*', '>', 'a b', 'ä', 42, undefined])
      expect(isSubjectToken(bad)).toBe(false);
    const s = fleetSubjects('shop');
    expect(s.inbox('web-1')).toBe('cb.shop.v1.h.web-1.in');
    expect(s.claim('resize')).toBe('cb.shop.v1.q.resize');
    expect(s.event('invalidate')).toBe('cb.shop.v1.evt.invalidate');
    expect(s.heartbeat('web-1')).toBe('cb.shop.v1.hb.web-1');
  });
});

describe('frames and heartbeats', () => {
  it('round-trips a frame and refuses junk without throwing', () => {
    const frame = encodeFrame('a', 'inst1', [{ $cb: 1, k: 'evt', n: 'x' }]);
    expect(decodeFrame(frame)).toEqual({
      host: 'a',
      instance: 'inst1',
      value: [{ $cb: 1, k: 'evt', n: 'x' }],
    });
    const enc = new TextEncoder();
    for (const junk of ['', 'no newline', '\n{}', ' x\n{}', 'a b\n{not json', 'a\nb c\n1']) {
      expect(decodeFrame(enc.encode(junk))).toBeUndefined();
    }
    expect(decodeFrame(new Uint8Array([0xff, 0xfe, 0x0a]))).toBeUndefined();
  });

  it('accepts only well-formed heartbeats', () => {
    expect(parseHeartbeat('{"i":"abc","s":"up","w":2,"c":8}')).toEqual({ i: 'abc', s: 'up', w: 2, c: 8 });
    expect(parseHeartbeat('{"i":"abc","s":"gone","w":0,"c":0}')?.s).toBe('gone');
    for (const junk of [
      '',
      'null',
      '[]',
      '{"i":"a.b","s":"up","w":1,"c":1}',
      '{"i":"a","s":"dead","w":1,"c":1}',
      '{"i":"a","s":"up","w":"1","c":1}',
      '{"i":"a","s":"up","w":1}',
    ]) {
      expect(parseHeartbeat(junk)).toBeUndefined();
    }
  });
});

describe('the optional NATS client', () => {
  it('loads when installed, and says what to install when it is not', async () => {
    expect(typeof (await loadNats()).connect).toBe('function');
    const error = await loadNats('@nats-io/not-installed-here').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(error?.message).toMatch(/npm install @nats-io\/transport-node@3/);
  });
});

describe('a host channel', () => {
  /** A connection that records what is published (the channel's only use of it here). */
  function recordingConnection(maxPayload: number) {
    const published: Array<{ subject: string; frame: string }> = [];
    const connection = {
      info: { max_payload: maxPayload },
      publish: (subject: string, data?: Uint8Array | string) =>
        published.push({ subject, frame: String(data) }),
    } as unknown as NatsConnectionLike;
    const frames = () =>
      published.map(({ frame }) => decodeFrame(new TextEncoder().encode(frame))?.value as Message[]);
    return { connection, published, frames };
  }

  const event = (n: string, p?: unknown): Message => ({ $cb: 1, k: 'evt', n, p });

  function open(maxPayload: number) {
    const rec = recordingConnection(maxPayload);
    const channel = createHostChannel({
      connection: rec.connection,
      local: { host: 'a', instance: 'i1' },
      remoteHost: 'b',
      subject: 'cb.app.v1.h.b.in',
      isConnected: () => true,
    });
    channel.transport.useBatches?.(true);
    return { ...rec, transport: channel.transport };
  }

  it('publishes one frame per write as soon as the transport writes it, with the batch of the turn', async () => {
    const { transport, published, frames } = open(1024 * 1024);
    const outcomes: string[] = [];
    for (const n of ['x', 'y']) transport.post(event(n), (error) => outcomes.push(`${n}:${error ?? 'ok'}`));
    // The transport writes at the end of the turn; the channel adds no wait of its own.
    await Promise.resolve();
    expect(published).toHaveLength(1);
    expect(published[0]!.subject).toBe('cb.app.v1.h.b.in');
    expect(frames()).toEqual([[{ $cb: 1, k: 'batch', b: [event('x'), event('y')] }]]);
    expect(outcomes).toEqual(['x:ok', 'y:ok']);
    transport.dispose();
  });

  it('splits a batch that came out over max_payload into frames under it, in order', async () => {
    // Control characters: 6 bytes each in JSON (\u0001) for the 1 the transport's estimate counts.
    const max = 4096;
    const { transport, published, frames } = open(max);
    const names = Array.from({ length: 20 }, (_, i) => `e${i}`);
    const outcomes: string[] = [];
    for (const n of names)
      transport.post(event(n, '\u0001'.repeat(100)), (error) => outcomes.push(error ? 'failed' : 'ok'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(published.length).toBeGreaterThan(1);
    for (const { frame } of published) expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(max);
    const delivered = frames()
      .flat()
      .flatMap((m) => (m.k === ('batch' as string) ? (m as unknown as { b: Message[] }).b : [m]));
    expect(delivered.map((m) => (m as { n: string }).n)).toEqual(names);
    // The split frames carry the batch's envelopes themselves (a batch would have been one frame).
    expect(frames().some((frame) => frame.length > 1)).toBe(true);
    expect(outcomes).toEqual(names.map(() => 'ok'));
    transport.dispose();
  });
});
