/**
 * The supervisor as a real primary process (test/fixtures/supervisor-primary.ts) with its
 * default signal handling: SIGKILL leaves no orphans, SIGTERM drains and exits 0, SIGHUP reloads,
 * a Ctrl-C to the whole process group does not kill the workers before the primary drains them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/cluster.js';
import { parseJsonLine, readLines } from '../helpers/lines.js';
import { isAlive, waitGone } from './cluster-helpers.js';

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
});

interface Primary {
  child: ChildProcess;
  lines: any[];
  next(event: string, timeoutMs?: number): Promise<any>;
  exited: Promise<number | null>;
}

function spawnPrimary(options: { detached?: boolean } = {}): Primary {
  const child = spawn(process.execPath, ['--import', 'tsx', fixturePath('supervisor-primary.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: options.detached ?? false,
  });
  running.add(child);
  const output = readLines([child.stdout!], parseJsonLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const next = (event: string, timeoutMs = 20_000) =>
    output.waitFor((line) => line.event === event, timeoutMs, `the primary's "${event}" line`);
  return { child, lines: output.lines, next, exited };
}

describe('a supervised primary process', () => {
  it('SIGKILLed: every worker exits by itself within about a second (no orphans)', async () => {
    const primary = spawnPrimary();
    const { pids } = await primary.next('started');
    expect(pids).toHaveLength(2);
    expect(pids.every(isAlive)).toBe(true);
    primary.child.kill('SIGKILL');
    await primary.exited;
    expect(await waitGone(pids, 2_000)).toEqual([]);
  });

  it('SIGTERM: drains every worker and exits 0', async () => {
    const primary = spawnPrimary();
    const { pids } = await primary.next('started');
    primary.child.kill('SIGTERM');
    expect(await primary.exited).toBe(0);
    const done = primary.lines.find((line) => line.event === 'shutdownDone');
    expect(done).toMatchObject({ graceful: true, killed: [] });
    const exits = primary.lines.filter((line) => line.event === 'workerExit');
    expect(exits.map((e) => [e.code, e.signal, e.planned])).toEqual([
      [0, null, true],
      [0, null, true],
    ]);
    expect(await waitGone(pids, 2_000)).toEqual([]);
  });

  it('SIGHUP: reloads every worker', async () => {
    const primary = spawnPrimary();
    const { pids } = await primary.next('started');
    primary.child.kill('SIGHUP');
    const reloaded = await primary.next('reloadDone');
    expect(reloaded.pids).toHaveLength(2);
    for (const pid of reloaded.pids) expect(pids).not.toContain(pid);
    primary.child.kill('SIGTERM');
    expect(await primary.exited).toBe(0);
  });

  it('Ctrl-C to the process group: the workers ignore it and wait for the primary to drain them', async () => {
    const primary = spawnPrimary({ detached: true });
    const { pids } = await primary.next('started');
    process.kill(-primary.child.pid!, 'SIGINT');
    expect(await primary.exited).toBe(0);
    const exits = primary.lines.filter((line) => line.event === 'workerExit');
    expect(exits.map((e) => [e.code, e.signal, e.planned])).toEqual([
      [0, null, true],
      [0, null, true],
    ]);
    expect(primary.lines.find((line) => line.event === 'shutdownStart')).toMatchObject({ reason: 'SIGINT' });
    expect(await waitGone(pids, 2_000)).toEqual([]);
  });
});
