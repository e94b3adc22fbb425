import nodeCluster from 'node:cluster';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ClusterStartError,
  isBusError,
  isSupervisorError,
  ReloadError,
  Supervisor,
  SupervisorError,
  startCluster,
} from '../../src/index.js';
import { contract } from '../fixtures/contract.js';
import { fixturePath, workerMessages } from '../helpers/cluster.js';
import { liveStatus, nextEvent, recordEvents, useClusters } from './cluster-helpers.js';

const start = useClusters();

describe('startCluster', { timeout: 90_000 }, () => {
  it('forks size workers, resolves once all are ready, and reports one status row each', async () => {
    const cluster = await start('supervisor-worker.ts');
    const rows = liveStatus(cluster);
    expect(rows.map((r) => [r.slot, r.state, r.restarts, r.inFlight])).toEqual([
      [0, 'ready', 0, 0],
      [1, 'ready', 0, 0],
    ]);
    expect(new Set(rows.map((r) => r.pid)).size).toBe(2);
    for (const row of rows) {
      expect(row.startedAt).toBeLessThanOrEqual(Date.now());
      expect((await cluster.bus.call(row.id, 'stats')).pid).toBe(row.pid);
    }
    const all = await cluster.bus.callAll('stats');
    expect(all.filter((r) => r.ok)).toHaveLength(2);
  });

  it('rejects with ClusterStartError naming each worker that crashed on boot, and leaves nothing running', async () => {
    const crashFile = join(tmpdir(), `clusterbus-crash-${process.pid}-${Date.now()}`);
    writeFileSync(crashFile, '');
    try {
      const error = await start('supervisor-worker.ts', { env: { CRASH_FILE: crashFile } }).catch((e) => e);
      expect(error).toBeInstanceOf(ClusterStartError);
      expect(error).toBeInstanceOf(SupervisorError);
      expect(isSupervisorError(error)).toBe(true);
      expect(isBusError(error)).toBe(false); // not a bus call failure
      expect(error.code).toBe('CLUSTER_START_FAILED');
      expect(error.failures).toHaveLength(2);
      expect(error.failures[0].reason).toMatch(/exited with code 3 before it was ready/);
    } finally {
      rmSync(crashFile, { force: true });
    }
  });

  it('rejects when a worker never calls ready() within readyTimeout', async () => {
    const error = await start('supervisor-worker.ts', {
      size: 1,
      readyTimeout: 1_500,
      env: { NEVER_READY: '1' },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ClusterStartError);
    expect(error.message).toMatch(/did not call ready\(\) within 1500 ms/);
  });

  it('a shutdown during start rejects start() saying so, not blaming the worker script', async () => {
    const supervisor = new Supervisor({
      contract,
      exec: fixturePath('supervisor-worker.ts'),
      execArgv: ['--import', 'tsx'],
      size: 1,
      signals: false,
      env: { NEVER_READY: '1' },
    });
    const forked = nextEvent(supervisor, 'workerFork');
    const starting = supervisor.start().catch((e) => e);
    await forked;
    const result = await supervisor.shutdown({ timeout: 10_000 });
    const error = await starting;
    expect(error).toBeInstanceOf(ClusterStartError);
    expect(error.message).toMatch(/shut down while starting/);
    expect(result.killed).toEqual([]);
  });

  it('validates options eagerly, naming the option and the value', async () => {
    await expect(startCluster({ contract, size: 0 })).rejects.toThrow(/size must be an integer >= 1, got 0/);
    await expect(startCluster({ contract, backoff: { factor: 0.5 } })).rejects.toThrow(/backoff.factor/);
    await expect(startCluster({ contract, readyTimeout: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(startCluster({ contract: {} as never })).rejects.toThrow(/defineContract/);
  });
});

describe('respawn', { timeout: 90_000 }, () => {
  it('respawns a worker killed with SIGKILL into its slot, with a new pid', async () => {
    const cluster = await start('supervisor-worker.ts', { backoff: { min: 50, max: 200 } });
    const [victim] = liveStatus(cluster);
    const exit = nextEvent(cluster, 'workerExit');
    const scheduled = nextEvent(cluster, 'respawnScheduled');
    const ready = nextEvent(cluster, 'workerReady', (w) => w.slot === victim!.slot);
    process.kill(victim!.pid!, 'SIGKILL');
    expect(await exit).toMatchObject({ id: victim!.id, signal: 'SIGKILL', planned: false });
    expect(await scheduled).toMatchObject({ slot: victim!.slot, attempt: 1 });
    const fresh = await ready;
    expect(fresh.pid).not.toBe(victim!.pid);
    expect(fresh.restarts).toBe(1);
    expect(liveStatus(cluster).map((r) => r.state)).toEqual(['ready', 'ready']);
  });

  it('stops respawning a crash-looping slot, keeps serving on the rest, and a reload revives it', async () => {
    const crashFile = join(tmpdir(), `clusterbus-loop-${process.pid}-${Date.now()}`);
    const cluster = await start('supervisor-worker.ts', {
      env: { CRASH_FILE: crashFile },
      backoff: { min: 20, max: 100 },
      crashBudget: { crashes: 3, window: 60_000 },
    });
    try {
      const events = recordEvents(cluster, ['respawnScheduled', 'crashLoop']);
      const [victim, survivor] = liveStatus(cluster);
      writeFileSync(crashFile, '');
      const loop = nextEvent(cluster, 'crashLoop');
      process.kill(victim!.pid!, 'SIGKILL');
      expect(await loop).toMatchObject({ slot: victim!.slot, crashes: 3, window: 60_000 });
      const attempts = events.filter(([name]) => name === 'respawnScheduled').map(([, e]) => e.attempt);
      expect(attempts).toEqual([1, 2]);
      expect(cluster.crashLoopedSlots()).toEqual([victim!.slot]);
      // The stopped slot keeps a row that says so; the survivor serves on.
      const rows = cluster.status();
      expect(rows.map((r) => [r.slot, r.id, r.state])).toEqual(
        [
          [victim!.slot, undefined, 'stopped'],
          [survivor!.slot, survivor!.id, survivor!.state],
        ].sort((a, b) => (a[0] as number) - (b[0] as number)),
      );
      expect(rows.find((r) => r.state === 'stopped')).toMatchObject({
        pid: undefined,
        restarts: 2,
        uptime: 0,
      });
      expect((await cluster.bus.call(survivor!.id, 'stats')).pid).toBe(survivor!.pid);

      rmSync(crashFile, { force: true });
      await cluster.reload();
      expect(cluster.crashLoopedSlots()).toEqual([]);
      expect(liveStatus(cluster).map((r) => r.state)).toEqual(['ready', 'ready']);
    } finally {
      rmSync(crashFile, { force: true });
    }
  }, 90_000);

  // A fork that throws, for real: cluster.fork passes process.env on, and an environment string
  // over Linux's 128 KiB per-string limit makes execve fail, which Node throws as `spawn E2BIG`.
  const BIG_ENV = 'CLUSTERBUS_TEST_E2BIG';

  it('a respawn whose fork throws is reported (respawnFailed) and retried with backoff until it succeeds', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1, backoff: { min: 50, max: 400 } });
    try {
      const events = recordEvents(cluster, ['respawnScheduled', 'respawnFailed', 'crashLoop']);
      const [victim] = liveStatus(cluster);
      const secondFailure = nextEvent(cluster, 'respawnFailed', (f) => f.attempt === 2);
      process.env[BIG_ENV] = 'x'.repeat(256 * 1024);
      process.kill(victim!.pid!, 'SIGKILL');
      const failure = await secondFailure;
      delete process.env[BIG_ENV]; // the next attempt can fork again
      expect(failure.slot).toBe(victim!.slot);
      expect(failure.error.message).toMatch(/respawning slot 0 \(attempt 2\) failed: spawn E2BIG; retrying/);
      expect((failure.error.cause as NodeJS.ErrnoException).code).toBe('E2BIG');
      const fresh = await nextEvent(cluster, 'workerReady', (w) => w.slot === victim!.slot);
      expect(fresh.restarts).toBe(1); // failed forks are not respawns
      expect(events.map(([name, e]) => [name, e.attempt])).toEqual([
        ['respawnScheduled', 1],
        ['respawnFailed', 1],
        ['respawnScheduled', 2],
        ['respawnFailed', 2],
        ['respawnScheduled', 3],
      ]);
      expect(liveStatus(cluster).map((r) => r.state)).toEqual(['ready']);
    } finally {
      delete process.env[BIG_ENV];
    }
  });

  it('failed respawn forks count against the crash budget, and without listeners become a process warning', async () => {
    const cluster = await start('supervisor-worker.ts', {
      size: 1,
      backoff: { min: 20, max: 100 },
      crashBudget: { crashes: 3, window: 60_000 },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const [victim] = liveStatus(cluster);
      const loop = nextEvent(cluster, 'crashLoop');
      process.env[BIG_ENV] = 'x'.repeat(256 * 1024);
      process.kill(victim!.pid!, 'SIGKILL');
      // One crash and two failed forks spend a budget of 3.
      expect(await loop).toMatchObject({ slot: victim!.slot, id: victim!.id, crashes: 3 });
      expect(cluster.crashLoopedSlots()).toEqual([victim!.slot]);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.map((w) => w.message)).toEqual([
        expect.stringMatching(/respawning slot 0 \(attempt 1\) failed: spawn E2BIG/),
        expect.stringMatching(/respawning slot 0 \(attempt 2\) failed: spawn E2BIG/),
      ]);
    } finally {
      process.off('warning', onWarning);
      delete process.env[BIG_ENV];
    }
  });
});

describe('shutdown', { timeout: 90_000 }, () => {
  it("gives a worker's hooks a deadline before the primary's: a hook that honours ctx.signal drains in time", async () => {
    const cluster = await start('supervisor-worker.ts', { env: { HOOK_UNTIL_ABORT: '1' } });
    const ids = liveStatus(cluster).map((row) => row.id);
    const result = await cluster.shutdown({ timeout: 5_000 });
    expect(result).toMatchObject({ graceful: true, killed: [], drained: ids.sort((a, b) => a - b) });
  });

  it('lets only one cluster per process own the signals, and frees them on shutdown', async () => {
    const owner = await start('supervisor-worker.ts', { size: 1, signals: { exit: false } });
    await expect(start('supervisor-worker.ts', { size: 1, signals: { exit: false } })).rejects.toThrow(
      /another cluster in this process already handles SIGINT\/SIGTERM\/SIGHUP/,
    );
    const listeners = process.listenerCount('SIGTERM');
    await owner.shutdown({ timeout: 3_000 });
    expect(process.listenerCount('SIGTERM')).toBe(listeners - 1);
    const next = await start('supervisor-worker.ts', { size: 1, signals: { exit: false } });
    expect(liveStatus(next)).toHaveLength(1);
  });

  it('drains every worker in parallel: hooks run, in-flight calls finish, workers exit 0', async () => {
    const cluster = await start('supervisor-worker.ts');
    const exits = recordEvents(cluster, ['workerExit']);
    const [first] = liveStatus(cluster);
    const running = workerMessages((m) => m.sleeping === 800);
    const pending = cluster.bus.call(first!.id, 'sleep', { ms: 800 });
    await running;
    const result = await cluster.shutdown({ timeout: 10_000 });
    expect(await pending).toBe(800);
    expect(result.graceful).toBe(true);
    expect(result.killed).toEqual([]);
    expect(result.drained).toHaveLength(2);
    expect(exits.map(([, e]) => [e.code, e.signal, e.planned])).toEqual([
      [0, null, true],
      [0, null, true],
    ]);
    expect(liveStatus(cluster)).toEqual([]);
    expect(await cluster.shutdown()).toBe(result); // idempotent
    await expect(cluster.reload()).rejects.toThrow(/shutting down/);
  });

  it('SIGKILLs the workers that miss the deadline and reports it', async () => {
    const cluster = await start('supervisor-worker.ts');
    const [stuck] = liveStatus(cluster);
    const running = workerMessages((m) => m.sleeping === 20_000);
    const pending = cluster.bus.call(stuck!.id, 'sleep', { ms: 20_000 }).catch((e) => e);
    await running;
    const result = await cluster.shutdown({ timeout: 2_000 });
    expect(result.graceful).toBe(false);
    expect(result.killed).toEqual([stuck!.id]);
    expect(result.drained).toHaveLength(1);
    expect((await pending).code).toMatch(/PEER_GONE|CLOSED/);
  });

  it("shutdown during a reload's probation lets the replacement drain; the in-flight call succeeds; result is accurate", async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1, probation: 800 });
    const [old] = liveStatus(cluster);
    const exits = recordEvents(cluster, ['workerExit']);
    const replacementReady = nextEvent(cluster, 'workerReady', (w) => w.id !== old!.id);
    const reload = cluster.reload().catch((e) => e);
    const fresh = await replacementReady; // now in its 800 ms probation
    const running = workerMessages((m) => m.sleeping === 2_500);
    const call = cluster.bus.call(fresh.id, 'sleep', { ms: 2_500 });
    await running;
    const result = await cluster.shutdown({ timeout: 8_000 });
    expect(await call).toBe(2_500);
    expect(result).toMatchObject({
      graceful: true,
      drained: [old!.id, fresh.id].sort((a, b) => a - b),
      killed: [],
    });
    expect(exits.map(([, e]) => [e.id, e.code, e.signal])).toEqual(
      expect.arrayContaining([
        [old!.id, 0, null],
        [fresh.id, 0, null],
      ]),
    );
    const error = await reload;
    expect(error).toBeInstanceOf(ReloadError);
    expect(error.message).toMatch(/began shutting down/);
  });

  it('a worker killed by a signal while draining is reported as killed, not drained', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1 });
    const [victim] = liveStatus(cluster);
    const running = workerMessages((m) => m.sleeping === 5_000);
    const pending = cluster.bus.call(victim!.id, 'sleep', { ms: 5_000 }).catch((e) => e);
    await running;
    const draining = nextEvent(cluster, 'workerDraining');
    const shutdown = cluster.shutdown({ timeout: 10_000 });
    await draining;
    process.kill(victim!.pid!, 'SIGKILL'); // dies mid-drain, well before the deadline
    expect(await shutdown).toMatchObject({ graceful: false, drained: [], killed: [victim!.id] });
    expect((await pending).code).toMatch(/PEER_GONE|CLOSED/);
  });

  it('an onShutdown hook that throws: the worker still drains and exits with code 1, which workerExit reports', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1, env: { HOOK_FAIL: '1' } });
    // The exit code is the report: the worker sends no `bye` control message (nothing reads one).
    const wire: string[] = [];
    const record = (_worker: unknown, message: unknown) => wire.push(JSON.stringify(message));
    nodeCluster.on('message', record);
    try {
      const exit = nextEvent(cluster, 'workerExit');
      const result = await cluster.shutdown({ timeout: 5_000 });
      expect(await exit).toMatchObject({ code: 1, signal: null, planned: true });
      expect(result).toMatchObject({ graceful: true, killed: [] });
      expect(wire.some((m) => m.includes('"shutdownHook"'))).toBe(true); // the hook did run
      expect(wire.filter((m) => m.includes('"c":"bye"'))).toEqual([]);
    } finally {
      nodeCluster.off('message', record);
    }
  });
});

describe('rolling reload', { timeout: 90_000 }, () => {
  it('replaces every worker with a new one, forking and waiting for ready before draining the old', async () => {
    const cluster = await start('supervisor-worker.ts');
    const before = liveStatus(cluster);
    const events = recordEvents(cluster, ['workerReady', 'workerDraining', 'reloadStep', 'reloadDone']);
    const result = await cluster.reload({ env: { VERSION: 'v2' } });
    expect(result.replaced.map((r) => r.oldId)).toEqual(before.map((r) => r.id));
    expect(result.killed).toEqual([]);
    const after = liveStatus(cluster);
    expect(after).toHaveLength(2);
    for (const row of after) expect(before.map((r) => r.pid)).not.toContain(row.pid);
    // Each old worker is drained only after its replacement said ready.
    for (const step of result.replaced) {
      const readyAt = events.findIndex(([n, e]) => n === 'workerReady' && e.id === step.newId);
      const drainAt = events.findIndex(([n, e]) => n === 'workerDraining' && e.id === step.oldId);
      expect(readyAt).toBeGreaterThanOrEqual(0);
      expect(drainAt).toBeGreaterThan(readyAt);
    }
    expect(events.at(-1)?.[0]).toBe('reloadDone');
    expect(await cluster.bus.call(after[0]!.id, 'echo', { text: 'hi' })).toEqual({ text: 'hi@v2' });
  });

  it('reports the old workers it had to SIGKILL because they did not drain in time', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1 });
    const [old] = liveStatus(cluster);
    const running = workerMessages((m) => m.sleeping === 10_000);
    const cut = cluster.bus.call(old!.id, 'sleep', { ms: 10_000 }).catch((e) => e);
    await running;
    const result = await cluster.reload({ drainTimeout: 300 });
    expect(result.killed).toEqual([old!.id]);
    expect((await cut).code).toBe('PEER_GONE');
  });

  it('coalesces reloads asked for during a reload into one follow-up run that applies every request', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1 });
    const events = recordEvents(cluster, ['reloadStart', 'reloadDone']);
    const first = cluster.reload();
    const deploy = cluster.reload({ env: { VERSION: 'v3' } });
    // A plain reload (a SIGHUP, say) joins the queued run without undoing the deploy's options.
    const plain = cluster.reload({ parallel: 1 });
    expect(plain).toBe(deploy);
    await Promise.all([first, deploy]);
    // Never interleaved: start, done, start, done.
    expect(events.map(([name]) => name)).toEqual(['reloadStart', 'reloadDone', 'reloadStart', 'reloadDone']);
    await expect(cluster.bus.call(liveStatus(cluster)[0]!.id, 'echo', { text: 'x' })).resolves.toEqual({
      text: 'x@v3',
    });
    expect(() => cluster.reload({ concurrency: 2 } as never)).toThrow(/no "concurrency" option/);
  });

  it('aborts when a replacement cannot boot: the old workers keep serving, the old code stays the default', async () => {
    const cluster = await start('supervisor-worker.ts');
    const before = liveStatus(cluster).map((r) => r.pid);
    const failed = nextEvent(cluster, 'reloadFailed');
    const error = await cluster.reload({ exec: fixturePath('http-broken.ts') }).catch((e) => e);
    expect(error).toBeInstanceOf(ReloadError);
    expect(isSupervisorError(error)).toBe(true);
    expect(error.code).toBe('RELOAD_FAILED');
    expect(error.replaced).toEqual([]);
    expect(error.message).toMatch(
      /reload aborted at slot 0 after replacing 0 of 2 workers: .*exited with code 1/,
    );
    expect(await failed).toBe(error);
    expect(liveStatus(cluster).map((r) => r.pid)).toEqual(before);
    expect((await cluster.bus.callAll('stats')).filter((r) => r.ok)).toHaveLength(2);
    // The next plain reload uses the last good script, not the broken one.
    const result = await cluster.reload();
    expect(result.replaced).toHaveLength(2);
  });
});
