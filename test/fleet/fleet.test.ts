/**
 * Fleet mode over a real nats-server: this test process is host "t" (one worker), hosts "a" and
 * "b" are separate primary processes (two workers and one). Calls, gathers, broadcasts, the
 * cross-host pool and worker-to-worker relays, with every promise of the local bus.
 */
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBusError, type Supervisor } from '../../src/index.js';
import type { FleetContract } from '../fixtures/fleet-contract.js';
import { spawnHost, startLocalHost, stopAllHosts } from '../helpers/fleet.js';
import { type NatsServer, startNats, stopAllNats } from '../helpers/nats.js';

let nats: NatsServer;
let t: Supervisor<FleetContract>;

beforeAll(async () => {
  nats = await startNats();
  await Promise.all([spawnHost('a', nats.url, { SIZE: '2' }), spawnHost('b', nats.url)]);
  t = await startLocalHost('t', nats.url);
  await t.fleet.waitForHosts(3, { timeout: 10_000 });
}, 150_000);

afterAll(async () => {
  await stopAllHosts();
  await stopAllNats();
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, `expected a ${code} rejection`).toBeDefined();
  expect(isBusError(error) ? error.code : error).toBe(code);
  return error!;
}

describe('fleet', () => {
  it('lists every host with its workers, this one first', () => {
    const hosts = t.fleet.hosts();
    expect(hosts.map((h) => h.host).sort()).toEqual(['a', 'b', 't']);
    expect(hosts[0]).toMatchObject({ host: 't', self: true, state: 'up', workers: 1 });
    expect(hosts.find((h) => h.host === 'a')).toMatchObject({ state: 'up', workers: 2, self: false });
  });

  it('calls one worker of another host, and its own', async () => {
    expect(await t.fleet.call({ host: 'a', id: 2 }, 'whoami')).toMatchObject({ host: 'a', id: 2 });
    expect(await t.fleet.call({ host: 'b', id: 1 }, 'echo', { n: 7 })).toEqual({ n: 7, host: 'b' });
    expect(await t.fleet.call({ host: 't', id: t.bus.readyWorkerIds()[0]! }, 'whoami')).toMatchObject({
      host: 't',
    });
  });

  it('validates input on both ends and output on both ends', async () => {
    const before = await expectCode(
      t.fleet.call({ host: 'a', id: 1 }, 'echo', { n: 'x' } as unknown as { n: number }),
      'VALIDATION',
    );
    expect(before.message).toMatch(/before sending/);
    const output = await expectCode(t.fleet.call({ host: 'a', id: 1 }, 'badOutput'), 'VALIDATION');
    expect(output.message).toMatch(/before replying/);
  });

  it('rebuilds remote errors with name, code and cause', async () => {
    const error = await expectCode(
      t.fleet.call({ host: 'b', id: 1 }, 'fail', { code: 'E_PURPOSE' }),
      'REMOTE',
    );
    const remote = (error as unknown as { remote: { name: string; code: string; message: string } }).remote;
    expect(remote).toMatchObject({
      name: 'PurposeError',
      code: 'E_PURPOSE',
      message: 'failed on purpose on b',
    });
    expect(error.message).toMatch(/worker 1 of host b/);
    expect(((error.cause as Error).cause as Error).message).toBe('the root cause');
  });

  it('times out, and aborts reach the remote handler’s ctx.signal', async () => {
    await expectCode(t.fleet.call({ host: 'b', id: 1 }, 'slow', { ms: 10_000 }, { timeout: 300 }), 'TIMEOUT');
    const controller = new AbortController();
    const call = t.fleet.call({ host: 'b', id: 1 }, 'slow', { ms: 10_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expectCode(call, 'ABORTED');
    // Both the timeout's cancel and the abort's cancel reached the handler on host b.
    await expect
      .poll(() => t.fleet.call({ host: 'b', id: 1 }, 'aborts'), { timeout: 5_000, interval: 50 })
      .toBeGreaterThanOrEqual(2);
  });

  it('fails with PEER_GONE for unknown hosts and workers', async () => {
    await expectCode(t.fleet.call({ host: 'nowhere', id: 1 }, 'whoami'), 'PEER_GONE');
    await expectCode(t.fleet.call({ host: 'a', id: 99 }, 'whoami'), 'PEER_GONE');
    await expect(t.fleet.call({ host: 'a' } as never, 'whoami')).rejects.toThrow(TypeError);
  });

  it('refuses payloads over the server’s max_payload with VALIDATION naming the limit', async () => {
    const error = await expectCode(
      t.fleet.call({ host: 'a', id: 1 }, 'sink', { data: 'x'.repeat(1_100_000) }),
      'VALIDATION',
    );
    expect(error.message).toMatch(/max_payload of 1048576 bytes/);
    const reply = await expectCode(
      t.fleet.call({ host: 'a', id: 1 }, 'big', { bytes: 1_100_000 }),
      'VALIDATION',
    );
    expect(reply.message).toMatch(
      /^call "big": its result could not be sent back \(cannot send to host t: .*max_payload/,
    );
    // The link still works after both.
    expect(await t.fleet.call({ host: 'a', id: 1 }, 'echo', { n: 1 })).toEqual({ n: 1, host: 'a' });
  });

  it('answers with the error, cut down, when a handler’s error is too big for max_payload', async () => {
    type Remote = { remote: { name: string; code: string; message: string; data?: unknown } };
    // Without an answer this would be a TIMEOUT after 10 s.
    const options = { timeout: 10_000 };
    const withData = await expectCode(
      t.fleet.call({ host: 'a', id: 1 }, 'bigError', { bytes: 1_100_000, where: 'data' }, options),
      'REMOTE',
    );
    const sent = (withData as unknown as Remote).remote;
    expect(sent).toMatchObject({ name: 'Error', code: 'E_BIG' });
    expect(sent.message).toMatch(/^too much data \(the rest of this error could not be sent: .*max_payload/);
    expect(sent.data).toBeUndefined();
    // A huge message is cut where the receiving end would cut it anyway, so the error fits.
    const withMessage = await expectCode(
      t.fleet.call({ host: 'a', id: 1 }, 'bigError', { bytes: 1_100_000, where: 'message' }, options),
      'REMOTE',
    );
    const cut = (withMessage as unknown as Remote).remote;
    expect(cut.code).toBe('E_BIG');
    expect(cut.message.length).toBe(10_000);
    expect(cut.message).toMatch(/^x+… \(cut from 1100000 characters\)$/);
  });

  it('gathers one row per worker of every host, each with its host', async () => {
    const rows = await t.fleet.callAll('whoami', undefined, { timeout: 5_000 });
    expect(rows.every((row) => row.ok)).toBe(true);
    expect(rows.map((row) => `${row.host}/${row.id}`).sort()).toEqual([
      'a/1',
      'a/2',
      'b/1',
      `t/${t.bus.readyWorkerIds()[0]}`,
    ]);
    for (const row of rows) if (row.ok) expect(row.value.host).toBe(row.host);
    const failing = await t.fleet.callAll('fail', { code: 'X' }, { timeout: 5_000 });
    expect(failing).toHaveLength(4);
    expect(failing.every((row) => !row.ok && row.error.code === 'REMOTE')).toBe(true);
  });

  it('gathers partial results at the deadline', async () => {
    const started = performance.now();
    const rows = await t.fleet.callAll('slow', { ms: 5_000 }, { timeout: 600 });
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(rows).toHaveLength(4);
    expect(rows.every((row) => !row.ok && row.error.code === 'TIMEOUT')).toBe(true);
  });

  it('broadcasts to every ready worker of every host', async () => {
    const key = `k-${Date.now()}`;
    const sentTo = await t.fleet.broadcast('invalidate', { key });
    expect(sentTo.sort()).toEqual(['a', 'b', 't']);
    await expect
      .poll(
        async () => {
          const rows = await t.fleet.callAll('seen', undefined, { timeout: 5_000 });
          return rows.filter((row) => row.ok && row.value.includes(key)).length;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(4);
    await expect(
      t.fleet.broadcast('invalidate', { key: 1 } as unknown as { key: string }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });

  it('relays a worker’s call to a worker of another host through both primaries', async () => {
    const answer = await t.fleet.call({ host: 'a', id: 1 }, 'callRemote', { host: 'b', id: 1 });
    expect(answer).toMatchObject({ host: 'b', id: 1 });
    const local = t.bus.readyWorkerIds()[0]!;
    expect(await t.bus.call(local, 'callRemote', { host: 'a', id: 2 })).toMatchObject({ host: 'a', id: 2 });
    const gone = await expectCode(t.bus.call(local, 'callRemote', { host: 'nowhere', id: 1 }), 'REMOTE');
    expect((gone as unknown as { remote: { code: string } }).remote.code).toBe('PEER_GONE');
  });

  it('runs tasks locally first, then on hosts with room', async () => {
    // 1 local worker × concurrency 4: the rest of 20 concurrent tasks go to a and b.
    const results = await Promise.all(Array.from({ length: 20 }, () => t.fleet.run('slow', { ms: 300 })));
    const byHost = new Map<string, number>();
    for (const r of results) byHost.set(r.host, (byHost.get(r.host) ?? 0) + 1);
    expect(byHost.get('t')).toBeGreaterThanOrEqual(4);
    expect((byHost.get('a') ?? 0) + (byHost.get('b') ?? 0)).toBeGreaterThan(0);
    const error = await expectCode(t.fleet.run('fail', { code: 'RUN' }), 'REMOTE');
    expect(error.message).toMatch(/PurposeError|failed on purpose/);
  });

  it('drops hostile traffic on its subjects, reports it, and keeps serving', async () => {
    const errors: string[] = [];
    const onError = (error: Error) => errors.push(error.message);
    t.fleet.on('error', onError);
    const nc = await connect({ servers: nats.url });
    try {
      const inbox = 'cb.test.v1.h.t.in';
      nc.publish(inbox, 'no header at all');
      nc.publish(inbox, 'a.b x\n[]');
      nc.publish(inbox, 'evil i1\n{not json');
      // A well-formed frame carrying a tagged but malformed envelope, and a foreign value.
      nc.publish(inbox, 'evil i1\n[{"$cb":1,"k":"req"},{"hello":"pm2"}]');
      nc.publish('cb.test.v1.hb.evil', '{"i":"x","s":"zombie"}');
      nc.publish('cb.test.v1.evt.invalidate', 'evil i1\n{"n":"invalidate","p":{"key":42}}');
      await nc.flush();
      await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(5);
      expect(errors.join('\n')).toMatch(/malformed frame/);
      expect(errors.join('\n')).toMatch(/malformed message from host evil: request without id or method/);
      expect(errors.join('\n')).toMatch(/malformed heartbeat/);
      expect(errors.join('\n')).toMatch(/validation/i);
      expect(t.fleet.hosts().map((h) => h.host)).not.toContain('evil');
      expect(await t.fleet.call({ host: 'b', id: 1 }, 'echo', { n: 3 })).toEqual({ n: 3, host: 'b' });
    } finally {
      t.fleet.off('error', onError);
      await nc.close();
    }
  });

  it('fails start() with PEER_GONE naming the servers when NATS is not there, and leaves nothing running', async () => {
    const gone = await startNats();
    const url = gone.url;
    await gone.stop();
    const error = await startLocalHost('nowhere', url).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(isBusError(error) && error.code).toBe('PEER_GONE');
    expect(error?.message).toContain(url);
    expect(error?.message).toMatch(/is nats-server running/);
  });
});
