/**
 * The fleet's pure parts, without processes: option checks (eager, naming the option), subject
 * tokens, frame and heartbeat decoding of hostile input (never throws, never accepts junk).
 */
import { describe, expect, it } from 'vitest';
import { parseHeartbeat } from '../../src/fleet/hosts.js';
import { resolveFleetOptions } from '../../src/fleet/options.js';
import { fleetSubjects, isSubjectToken } from '../../src/fleet/subjects.js';
import { decodeFrame, encodeFrame, loadNats } from '../../src/transports/nats.js';

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
