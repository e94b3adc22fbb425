/**
 * cluster.scale(n): grow and shrink while serving, the pool and status() following at once,
 * coalesced with reloads, and RangeError for bad sizes.
 */
import { describe, expect, it } from 'vitest';
import { liveStatus, nextEvent, recordEvents, useClusters } from './cluster-helpers.js';

const start = useClusters();

describe('scale', { timeout: 90_000 }, () => {
  it('grows: forks the new slots, resolves once they are ready, and they serve calls and pool tasks', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1 });
    const [first] = liveStatus(cluster);
    const result = await cluster.scale(3);
    expect(result).toMatchObject({ previous: 1, size: 3, stopped: [] });
    expect(result.started).toHaveLength(2);
    expect(cluster.size).toBe(3);
    const rows = liveStatus(cluster);
    expect(rows.map((r) => [r.slot, r.state])).toEqual([
      [0, 'ready'],
      [1, 'ready'],
      [2, 'ready'],
    ]);
    expect(rows[0]!.id).toBe(first!.id);
    expect(rows.slice(1).map((r) => r.id)).toEqual(result.started);
    const all = await cluster.bus.callAll('stats');
    expect(all.filter((r) => r.ok)).toHaveLength(3);
    // The pool spreads over the new workers too.
    const pids = new Set<number>();
    await Promise.all(
      Array.from({ length: 12 }, async () => pids.add((await cluster.run('stats', undefined)).pid)),
    );
    expect(pids.size).toBe(3);
  });

  it('shrinks: the highest slots leave status() and the pool at once, and their workers drain gracefully', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 3 });
    const before = liveStatus(cluster);
    const exits = recordEvents(cluster, ['workerExit']);
    const scaling = cluster.scale(1);
    // At once: the size, the rows (the leaving ones say draining), and no pool task goes to them.
    expect(cluster.size).toBe(1);
    expect(liveStatus(cluster).map((r) => [r.slot, r.state])).toEqual([
      [0, 'ready'],
      [1, 'draining'],
      [2, 'draining'],
    ]);
    const tasks = await Promise.all(Array.from({ length: 6 }, () => cluster.run('stats', undefined)));
    expect(new Set(tasks.map((t) => t.pid))).toEqual(new Set([before[0]!.pid]));
    const result = await scaling;
    expect(result).toMatchObject({ previous: 3, size: 1, started: [] });
    expect(result.stopped.sort()).toEqual([before[1]!.id, before[2]!.id].sort());
    expect(liveStatus(cluster).map((r) => r.id)).toEqual([before[0]!.id]);
    // Drained, not killed: exit code 0, planned, and no respawn.
    expect(exits.map(([, e]) => [e.code, e.signal, e.planned])).toEqual([
      [0, null, true],
      [0, null, true],
    ]);
    expect(cluster.crashLoopedSlots()).toEqual([]);
  });

  it('rejects sizes that are not integers >= 1 with a RangeError naming the value', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1 });
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', undefined]) {
      expect(() => cluster.scale(bad as number)).toThrow(RangeError);
    }
    expect(() => cluster.scale(0)).toThrow(/size must be an integer >= 1, got 0/);
    expect(cluster.size).toBe(1);
  });

  it('takes turns with reloads: scales asked for during a reload wait for it and coalesce to the last size', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 2 });
    const order = recordEvents(cluster, ['reloadDone', 'scaled']);
    const reload = cluster.reload();
    const toThree = cluster.scale(3);
    const toFour = cluster.scale(4);
    expect(cluster.size).toBe(2); // nothing changes before the reload is done
    const [reloaded, three, four] = await Promise.all([reload, toThree, toFour]);
    expect(reloaded.replaced).toHaveLength(2);
    expect(three).toBe(four);
    expect(four).toMatchObject({ previous: 2, size: 4 });
    expect(order.map(([name]) => name)).toEqual(['reloadDone', 'scaled']);
    expect(liveStatus(cluster).filter((r) => r.state === 'ready')).toHaveLength(4);
    // And a reload after the scale replaces all four slots.
    expect((await cluster.reload()).replaced.map((r) => r.slot).sort()).toEqual([0, 1, 2, 3]);
  }, 90_000);

  it('a crash in a slot added by scale() is respawned like any other', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1, backoff: { min: 20, max: 50 } });
    const { started } = await cluster.scale(2);
    const victim = liveStatus(cluster).find((r) => r.id === started[0])!;
    const respawned = nextEvent(cluster, 'workerReady', (w) => w.slot === victim.slot);
    process.kill(victim.pid!, 'SIGKILL');
    expect((await respawned).id).not.toBe(victim.id);
    expect(liveStatus(cluster).map((r) => r.slot)).toEqual([0, 1]);
  });
});
