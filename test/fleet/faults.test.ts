/**
 * Fleet failure handling with real processes and a real nats-server: a host's primary SIGKILLed,
 * a host frozen with SIGSTOP (with a gather running meanwhile), the server restarted mid-traffic,
 * and a graceful host shutdown under load. Pending calls must fail fast with typed errors (never
 * hang until their own timeout), traffic must resume, and a graceful leave must lose no call.
 * One fleet serves the whole file (spawning hosts is the slow part); the tests run in order and
 * each one takes out the host it is about.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusError, Supervisor } from '../../src/index.js';
import type { FleetContract } from '../fixtures/fleet-contract.js';
import { type HostProcess, signalHost, spawnHost, startLocalHost, stopAllHosts } from '../helpers/fleet.js';
import { type NatsServer, startNats, stopAllNats } from '../helpers/nats.js';

/** Long enough that a call failing by its own timeout would fail these tests. */
const CALL_TIMEOUT = 20_000;
const HEARTBEAT = 400;

let nats: NatsServer;
let t: Supervisor<FleetContract>;
let b: HostProcess;
let killed: HostProcess;
let frozen: HostProcess;

beforeAll(async () => {
  nats = await startNats();
  const env = { HEARTBEAT: String(HEARTBEAT), CONCURRENCY: '2' };
  [, b, killed, frozen] = await Promise.all([
    spawnHost('a', nats.url, { ...env, SIZE: '2' }),
    spawnHost('b', nats.url, { ...env, SIZE: '2' }),
    spawnHost('k', nats.url, env),
    spawnHost('s', nats.url, env),
  ]);
  t = await startLocalHost('t', nats.url, { heartbeat: HEARTBEAT, concurrency: 1 });
  await t.fleet.waitForHosts(5, { timeout: 15_000 });
}, 150_000);

afterAll(async () => {
  await stopAllHosts();
  await stopAllNats();
});

function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: BusError }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: BusError) => ({ ok: false as const, error }),
  );
}

/** Slow calls to `host`, plus proof they were sent: a later call to the same host is answered. */
async function pendingSlowCalls(host: string, count: number) {
  const calls = Array.from({ length: count }, () =>
    settle(t.fleet.call({ host, id: 1 }, 'slow', { ms: 60_000 }, { timeout: CALL_TIMEOUT })),
  );
  expect(await t.fleet.call({ host, id: 1 }, 'echo', { n: 1 })).toEqual({ n: 1, host });
  return calls;
}

const codes = (results: Array<{ ok: boolean; error?: BusError }>) =>
  results.map((r) => (r.ok ? 'ok' : r.error!.code));

describe('fleet faults', () => {
  it('fails calls pending on a SIGKILLed host with PEER_GONE, long before their timeout', async () => {
    const gone = new Promise((resolve) =>
      t.fleet.on('hostGone', (info) => info.host === 'k' && resolve(info)),
    );
    const calls = await pendingSlowCalls('k', 5);
    const killedAt = performance.now();
    signalHost(killed, 'SIGKILL');
    const results = await Promise.all(calls);
    const elapsed = performance.now() - killedAt;
    expect(codes(results)).toEqual(Array(5).fill('PEER_GONE'));
    expect(elapsed).toBeLessThan(CALL_TIMEOUT / 2);
    expect(await gone).toMatchObject({ host: 'k' });
    expect(t.fleet.hosts().map((h) => h.host)).not.toContain('k');
    console.log(`fleet: SIGKILLed host detected, pending calls failed after ${Math.round(elapsed)} ms`);
  });

  it('fails calls pending on a frozen (SIGSTOP) host after missed heartbeats; a gather meanwhile keeps the others', async () => {
    const calls = await pendingSlowCalls('s', 3);
    const stoppedAt = performance.now();
    signalHost(frozen, 'SIGSTOP');
    const gather = t.fleet.callAll('whoami', undefined, { timeout: 1_500 });
    const results = await Promise.all(calls);
    const elapsed = performance.now() - stoppedAt;
    expect(codes(results)).toEqual(Array(3).fill('PEER_GONE'));
    expect((results[0] as { error: BusError }).error.message).toMatch(/missed 3 heartbeats/);
    expect(elapsed).toBeLessThan(CALL_TIMEOUT / 2);
    console.log(
      `fleet: SIGSTOPped host detected after ${Math.round(elapsed)} ms (heartbeat ${HEARTBEAT} ms)`,
    );

    const rows = await gather;
    const ok = rows.filter((row) => row.ok).map((row) => `${row.host}/${row.id}`);
    expect(ok.sort()).toEqual(['a/1', 'a/2', 'b/1', 'b/2', `t/${t.bus.readyWorkerIds()[0]}`]);
    const silent = rows.filter((row) => row.host === 's');
    expect(silent).toHaveLength(1);
    expect(silent[0]).toMatchObject({ ok: false, id: undefined });
    expect(['TIMEOUT', 'PEER_GONE']).toContain((silent[0] as { error: BusError }).error.code);
  });

  it('survives a NATS server restart mid-traffic: in-flight calls fail typed and fast, then traffic resumes', async () => {
    // Slow calls in flight over the restart, plus a stream of fast ones.
    const calls = await pendingSlowCalls('a', 4);
    let stop = false;
    const failures: string[] = [];
    let successes = 0;
    const stream = (async () => {
      for (let n = 0; !stop && n < 100_000; n++) {
        const r = await settle(
          t.fleet.call({ host: 'a', id: 1 + (n % 2) }, 'echo', { n }, { timeout: CALL_TIMEOUT }),
        );
        if (r.ok) successes++;
        else {
          failures.push(r.error.code);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();
    const restartAt = performance.now();
    await nats.restart();
    const results = await Promise.all(calls);
    const elapsed = performance.now() - restartAt;
    expect(codes(results)).toEqual(Array(4).fill('PEER_GONE'));
    expect(elapsed).toBeLessThan(CALL_TIMEOUT / 2);
    // Traffic resumes once both hosts reconnected and heard each other again.
    const before = successes;
    await expect.poll(() => successes - before, { timeout: 15_000, interval: 50 }).toBeGreaterThan(20);
    stop = true;
    await stream;
    expect(failures.every((code) => code === 'PEER_GONE')).toBe(true);
    expect(await t.fleet.call({ host: 'a', id: 1 }, 'whoami')).toMatchObject({ host: 'a' });
    console.log(
      `fleet: server restart; in-flight calls failed after ${Math.round(elapsed)} ms, ${failures.length} calls refused while reconnecting`,
    );
  });

  it('a host that shuts down gracefully under load finishes what it holds and loses no fleet call', async () => {
    await t.fleet.waitForHosts(3, { timeout: 15_000 });
    let stop = false;
    const direct: Array<{ ok: boolean; code?: string }> = [];
    const runs: Array<{ ok: boolean; code?: string; host?: string }> = [];
    // Direct calls to b's workers, until b refuses them (NOT_READY: it is leaving, nothing was sent).
    const directLoop = async (id: number) => {
      for (let n = 0; !stop && n < 10_000; n++) {
        const r = await settle(
          t.fleet.call({ host: 'b', id }, 'slow', { ms: 50 }, { timeout: CALL_TIMEOUT }),
        );
        direct.push(r.ok ? { ok: true } : { ok: false, code: r.error.code });
        if (!r.ok) return;
      }
    };
    // Pool tasks: more than t's one place, so they spread over a and b.
    const runLoop = async () => {
      for (let n = 0; !stop && n < 10_000; n++) {
        const r = await settle(t.fleet.run('slow', { ms: 100 }, { timeout: CALL_TIMEOUT }));
        runs.push(r.ok ? { ok: true, host: r.value.host } : { ok: false, code: r.error.code });
      }
    };
    const bGone = new Promise<{ reason: string }>((resolve) =>
      t.fleet.on('hostGone', (info) => info.host === 'b' && resolve(info)),
    );
    const loops = [directLoop(1), directLoop(2), ...Array.from({ length: 6 }, runLoop)];
    await expect
      .poll(() => runs.filter((r) => r.host === 'b').length, { timeout: 15_000 })
      .toBeGreaterThan(3);
    signalHost(b, 'SIGTERM');
    const done = await b.waitFor((line) => line.event === 'shutdownDone', 30_000);
    await b.exited;
    stop = true;
    await Promise.all(loops);
    expect(done).toMatchObject({ graceful: true });
    expect(b.child.exitCode).toBe(0);
    // Every direct call either succeeded or was refused before it was sent.
    const directFailures = direct.filter((r) => !r.ok).map((r) => r.code);
    expect(directFailures.every((code) => code === 'NOT_READY' || code === 'PEER_GONE')).toBe(true);
    expect(direct.filter((r) => r.ok).length).toBeGreaterThan(0);
    // A PEER_GONE here would be a lost call: only b leaving can cause it, and it must not.
    expect(directFailures.filter((code) => code === 'PEER_GONE')).toEqual([]);
    expect(runs.filter((r) => !r.ok)).toEqual([]);
    expect(runs.length).toBeGreaterThan(10);
    // Its last heartbeat said goodbye: dropped at once, not after missed heartbeats.
    expect((await bGone).reason).toBe('host b left the fleet');
  });
});
