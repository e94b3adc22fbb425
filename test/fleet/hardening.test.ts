/**
 * Fleet mode against what review found: a wall clock that steps (NTP), app listeners that throw,
 * a host that sends rows no real host would, a restarted host's frame that comes before its
 * heartbeat, a gather while this host's NATS connection is down, and the pool's own options on
 * another host. Real processes and a real nats-server; the hosts that must send odd things are
 * built by hand over their own NATS connection. The tests run in order (the clock test first: it
 * counts the hosts another host drops, and later tests make hosts come and go).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusError, Supervisor } from '../../src/index.js';
import type { FleetContract } from '../fixtures/fleet-contract.js';
import {
  type HostProcess,
  handBuiltHost,
  signalHost,
  spawnHost,
  startLocalHost,
  stopAllHosts,
} from '../helpers/fleet.js';
import { type NatsServer, startNats, stopAllNats } from '../helpers/nats.js';

const HEARTBEAT = 250;

let nats: NatsServer;
let t: Supervisor<FleetContract>;
let a: HostProcess;
let c: HostProcess;
let d: HostProcess;
let k: HostProcess;

beforeAll(async () => {
  nats = await startNats();
  const env = { HEARTBEAT: String(HEARTBEAT), CONCURRENCY: '1' };
  [a, c, d, k] = await Promise.all([
    spawnHost('a', nats.url, env),
    spawnHost('c', nats.url, { ...env, CLOCK_STEPS: '[30000,-60000]' }),
    spawnHost('d', nats.url, env),
    spawnHost('k', nats.url, env),
  ]);
  // A short call timeout and a pool without one: a pool task must not inherit the call's.
  t = await startLocalHost('t', nats.url, {
    heartbeat: HEARTBEAT,
    concurrency: 1,
    timeout: 1_000,
    pool: { timeout: 0 },
  });
  await t.fleet.waitForHosts(5, { timeout: 15_000 });
}, 150_000);

afterAll(async () => {
  await stopAllHosts();
  await stopAllNats();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once t lists host `name` (or, with `present` false, no longer does). */
async function heard(name: string, present = true): Promise<void> {
  await expect
    .poll(() => t.fleet.hosts().some((info) => info.host === name), { timeout: 5_000, interval: 20 })
    .toBe(present);
}

/** Process warnings emitted while `body` runs (and a little after). */
async function warningsDuring(body: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    await body();
    await pause(100);
  } finally {
    process.off('warning', onWarning);
  }
  return warnings;
}

describe('fleet hardening', () => {
  it('measures silence on a monotonic clock: a wall-clock step neither drops live hosts nor hides a dead one', async () => {
    // c knows the others (t started last, so c heard it after its listeners were on).
    await c.waitFor((line) => line.event === 'hostUp' && line.host === 't');
    const goneOnC = () => c.lines.filter((line) => line.event === 'hostGone').map((line) => line.host);
    signalHost(c, 'SIGUSR2');
    await c.waitFor((line) => line.event === 'clock' && line.skew === 30_000);
    await pause(HEARTBEAT * 6);
    expect(goneOnC()).toEqual([]);
    signalHost(c, 'SIGUSR2');
    await c.waitFor((line) => line.event === 'clock' && line.skew === -30_000);
    signalHost(d, 'SIGKILL');
    await d.exited;
    const gone = await c.waitFor((line) => line.event === 'hostGone' && line.host === 'd', 5_000);
    expect(String(gone.reason)).toMatch(/host d (has no subscription|missed)/);
    expect(goneOnC()).toEqual(['d']);
    // What hosts() shows stays wall-clock time.
    const row = t.fleet.hosts().find((info) => info.host === 'a')!;
    expect(Math.abs(row.lastHeard - Date.now())).toBeLessThan(HEARTBEAT * 4);
  });

  it('keeps hearing when an app listener of hostUp, hostGone or error throws, and warns naming the event', async () => {
    const listeners = {
      hostUp: () => {
        throw new Error('hostUp listener broke');
      },
      hostGone: () => {
        throw new Error('hostGone listener broke');
      },
      error: () => {
        throw new Error('error listener broke');
      },
    };
    for (const [event, listener] of Object.entries(listeners)) t.fleet.on(event as 'error', listener);
    const leaving = await handBuiltHost('ghost1', 'g1', nats.url);
    const silent = await handBuiltHost('ghost2', 'g2', nats.url);
    try {
      const warnings = await warningsDuring(async () => {
        // hostUp from a heartbeat callback; hostGone from one (a goodbye) and from the probe of a
        // host that went silent; error from a malformed heartbeat.
        leaving.keepBeating();
        silent.keepBeating();
        await heard('ghost1');
        await heard('ghost2');
        leaving.beat('gone');
        await silent.close();
        await heard('ghost1', false);
        await heard('ghost2', false);
        const hostile = await handBuiltHost('ghost3', 'g3', nats.url);
        hostile.nc.publish('cb.test.v1.hb.ghost3', '{"i":"g3","s":"zombie","w":1,"c":0}');
        await pause(HEARTBEAT);
        await hostile.close();
        // Still hearing: a call answered, a new heartbeat seen.
        expect(await t.fleet.call({ host: 'a', id: 1 }, 'echo', { n: 5 }, { timeout: 5_000 })).toEqual({
          n: 5,
          host: 'a',
        });
      });
      const text = warnings.join('\n');
      expect(text).toMatch(/"hostUp" listener threw.*hostUp listener broke/);
      expect(text).toMatch(/"hostGone" listener threw.*hostGone listener broke/);
      expect(text).toMatch(/"error" listener threw.*error listener broke/);
    } finally {
      for (const [event, listener] of Object.entries(listeners)) t.fleet.off(event as 'error', listener);
      await leaving.close();
    }
  });

  it('callAll takes a hostile error row as that row’s failure and keeps the host’s other rows', async () => {
    const evil = await handBuiltHost('evil', 'e1', nats.url, (request, reply) => {
      reply({
        $cb: 1,
        k: 'res',
        id: request.id,
        o: [
          { id: 1, ok: false, error: { message: 'x', name: { toString: 1 } } },
          { id: 2, pid: 2, ok: true, value: { host: 'evil', id: 2, pid: 2 } },
          { id: 3, ok: false, error: 'not an error at all' },
        ],
      });
    });
    try {
      evil.keepBeating(3);
      await heard('evil');
      const rows = await t.fleet.callAll('whoami', undefined, { timeout: 3_000 });
      const fromEvil = rows.filter((row) => row.host === 'evil');
      expect(fromEvil.map((row) => [row.id, row.ok])).toEqual([
        [1, false],
        [2, true],
        [3, false],
      ]);
      const [first, , third] = fromEvil as Array<{ error: BusError }>;
      expect(first!.error.code).toBe('REMOTE');
      expect(first!.error.message).toBe('call "whoami" to worker 1 of host evil failed: Error: x');
      expect(third!.error.code).toBe('REMOTE');
      expect(rows.filter((row) => row.host !== 'evil').every((row) => row.ok)).toBe(true);
    } finally {
      evil.beat('gone');
      await evil.close();
    }
  });

  it('keeps the peer of a restarted host whose first frame came before its heartbeat', async () => {
    const target = { host: 't', instance: t.fleet.hosts()[0]!.instance };
    const worker = t.bus.readyWorkerIds()[0]!;
    const before = await handBuiltHost('x', 'x1', nats.url);
    before.keepBeating();
    await heard('x');
    // x restarts as x2 (at once, so t still knows x1) and calls t's worker before t has heard
    // x2's heartbeat.
    before.beat();
    await before.close();
    const after = await handBuiltHost('x', 'x2', nats.url);
    try {
      const call = after.peers
        .get(target.host, target.instance)
        .call('slow', { ms: 1_000 }, { timeout: 5_000 }, { to: worker, targetName: `worker ${worker} of t` });
      await pause(300);
      after.keepBeating();
      await expect.poll(() => t.fleet.hosts().find((info) => info.host === 'x')?.instance).toBe('x2');
      await expect(call).resolves.toMatchObject({ host: 't', id: worker });
    } finally {
      after.beat('gone');
      await after.close();
    }
  });

  it('stops a relayed call at its caller’s deadline when the caller’s cancel never comes', async () => {
    const caller = await handBuiltHost('quiet', 'q1', nats.url);
    try {
      caller.keepBeating();
      // a hears the heartbeat when t does (one subject for all).
      await heard('quiet');
      await pause(HEARTBEAT);
      // Any spawned host still up (earlier tests make hosts come and go).
      const spawned = new Set([a, c, d, k].map((host) => host.name));
      const host = t.fleet.hosts().find((info) => !info.self && spawned.has(info.host))!.host;
      const before = await t.fleet.call({ host, id: 1 }, 'aborts');
      // A call with a 300 ms deadline whose caller then goes quiet: no cancel follows.
      caller.nc.publish(
        `cb.test.v1.h.${host}.in`,
        `quiet q1\n[{"$cb":1,"k":"req","id":"q1:1","m":"slow","to":1,"t":300,"i":{"ms":20000}}]`,
      );
      await expect
        .poll(() => t.fleet.call({ host, id: 1 }, 'aborts'), { timeout: 5_000, interval: 100 })
        .toBe(before + 1);
    } finally {
      caller.beat('gone');
      await caller.close();
    }
  });

  it('runs a pool task on another host under the pool’s timeout, not the call timeout', async () => {
    // t's one place is taken, so the next task goes to another host; it outlasts t's 1 s call timeout.
    const local = t.fleet.run('slow', { ms: 2_500 });
    // Only once t has no place left, and another host has one, must the task leave t.
    await expect.poll(() => t.fleet.hosts()[0]!.capacity, { timeout: 5_000, interval: 10 }).toBe(0);
    await expect
      .poll(() => t.fleet.hosts().some((info) => !info.self && info.capacity > 0), { timeout: 5_000 })
      .toBe(true);
    const remote = await t.fleet.run('slow', { ms: 1_500 });
    expect(remote.host).not.toBe('t');
    expect((await local).host).toBe('t');
  });

  it('retries a pool task whose host died mid-run (PEER_GONE) when the pool’s retry allows it', async () => {
    const local = t.fleet.run('slow', { ms: 3_000 });
    const task = t.fleet.run('slow', { ms: 2_000 }, { retry: 1 });
    // The host running it reports no free place.
    const spawned = new Map([a, c, d, k].map((host) => [host.name, host]));
    let runner: HostProcess | undefined;
    await expect
      .poll(
        () => {
          const busy = t.fleet.hosts().find((info) => !info.self && info.capacity === 0);
          runner = busy && spawned.get(busy.host);
          return runner?.name;
        },
        { timeout: 5_000, interval: 20 },
      )
      .toBeDefined();
    signalHost(runner!, 'SIGKILL');
    const result = await task;
    expect(result.host).not.toBe(runner!.name);
    expect((await local).host).toBe('t');
  });

  it('has callAll answer for the hosts it knew with PEER_GONE while its NATS connection is down', async () => {
    const known = t.fleet
      .hosts()
      .filter((info) => !info.self)
      .map((info) => info.host);
    expect(known.length).toBeGreaterThan(0);
    await nats.stop();
    try {
      await expect.poll(() => t.fleet.hosts().length, { timeout: 5_000 }).toBe(1);
      const rows = await t.fleet.callAll('whoami', undefined, { timeout: 1_000 });
      expect(rows.filter((row) => row.host === 't').every((row) => row.ok)).toBe(true);
      const missing = rows.filter((row) => row.host !== 't');
      expect(missing.map((row) => row.host).sort()).toEqual(known.sort());
      for (const row of missing) {
        expect(row).toMatchObject({ ok: false, id: undefined });
        expect((row as { error: BusError }).error.code).toBe('PEER_GONE');
      }
    } finally {
      await nats.restart();
    }
  });
});
