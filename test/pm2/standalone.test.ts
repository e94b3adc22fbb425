/**
 * The same worker file without a clusterbus supervisor: run as plain `node worker` (docker,
 * systemd), and forked by a parent that has an IPC channel but no clusterbus bus.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { childProcessTransport, createPrimaryBus } from '../../src/index.js';
import { contract } from '../fixtures/contract.js';
import { fixturePath } from '../helpers/cluster.js';
import { parseJsonLine, readLines } from '../helpers/lines.js';

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
});

/** Collects the JSON lines a fixture prints; `next(event)` waits for one. */
function watch(child: ChildProcess) {
  running.add(child);
  const output = readLines([child.stdout!], parseJsonLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const next = (event: string, timeoutMs = 20_000) =>
    output.waitFor((line) => line.event === event, timeoutMs, `the worker's "${event}" line`);
  return { lines: output.lines, next, exited };
}

describe('a worker run by plain node (no IPC channel)', { timeout: 90_000 }, () => {
  it('ready() resolves at once, calls to the primary fail fast with NO_PRIMARY, SIGTERM runs the onShutdown hooks and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixturePath('standalone-worker.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const worker = watch(child);
    const ready = await worker.next('ready');
    expect(ready).toMatchObject({ ok: true, isReady: true });
    const call = await worker.next('call');
    expect(call).toMatchObject({ ok: false, code: 'NO_PRIMARY', name: 'NoPrimaryError' });
    expect(call.message).toMatch(
      /call "config" failed: no clusterbus primary: this process has no IPC channel/,
    );
    expect(call.ms).toBeLessThan(1_000); // not the call's 20 s timeout
    child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.lines.find((line) => line.event === 'hook')).toMatchObject({
      reason: 'SIGTERM',
      timeout: 10_000,
    });
  });

  it('SIGINT drains too; a second signal while a hook hangs exits at once', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixturePath('standalone-worker.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HOOK_HANG: '1' },
    });
    const worker = watch(child);
    await worker.next('ready');
    child.kill('SIGINT');
    expect(await worker.next('hook')).toMatchObject({ reason: 'SIGINT' });
    child.kill('SIGINT');
    // 128 + 2: the conventional code of a process ended by SIGINT, well before the 10 s deadline.
    expect(await worker.exited).toEqual({ code: 130, signal: null });
  });
});

/** The standalone fixture forked with an IPC channel but no bus behind it; the hello waits `helloMs`. */
function forkWithoutBus(helloMs: number) {
  const child = fork(fixturePath('standalone-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, HELLO_MS: String(helloMs) },
  });
  return { child, worker: watch(child) };
}

describe('a worker forked by a parent without a clusterbus bus', { timeout: 90_000 }, () => {
  it('ready() rejects with NO_PRIMARY saying no clusterbus primary answered, and isReady stays false', async () => {
    const { child, worker } = forkWithoutBus(500);
    const ready = await worker.next('ready');
    expect(ready).toMatchObject({ ok: false, code: 'NO_PRIMARY', isReady: false });
    expect(ready.message).toMatch(/no clusterbus primary answered within 500 ms/);
    // A call made after that fails at once with the same code, not after its 20 s timeout.
    const call = await worker.next('call');
    expect(call).toMatchObject({ ok: false, code: 'NO_PRIMARY' });
    expect(call.message).toMatch(/call "config" to the primary failed: no clusterbus primary answered/);
    expect(call.ms).toBeLessThan(5_000);
    // The parent's own signal still drains it (no supervisor would).
    child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('a primary bus that attaches late is still welcome: it gets the held ready and calls work both ways', async () => {
    const { child, worker } = forkWithoutBus(300);
    expect(await worker.next('call')).toMatchObject({ ok: false, code: 'NO_PRIMARY' });
    const bus = createPrimaryBus(contract, { autoAttach: false });
    try {
      bus.attachTransport(1, childProcessTransport(child));
      await bus.waitForReady(1, { timeout: 10_000 });
      await expect(bus.call(1, 'stats')).resolves.toMatchObject({ pid: child.pid });
    } finally {
      await bus.close();
      child.kill('SIGTERM');
      expect((await worker.exited).code).toBe(0);
    }
  });
});
