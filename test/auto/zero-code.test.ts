/**
 * Zero-code mode, worker side, with the built preload (dist/auto/preload.cjs) in real cluster
 * workers under a real supervisor: ready once the HTTP servers listen (an ES module app's named
 * import included), on PM2's `process.send('ready')`, or at once for an app with no server; the
 * drain finishes requests in flight; an app with its own bus keeps control (exactly one bus
 * says hello, and nothing signals ready for it).
 */
import cluster, { type Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AUTO_ENV, READY_ENV, type ReadyMode } from '../../src/auto/settings.js';
import { ClusterStartError, type Contract, defineContract, Supervisor } from '../../src/index.js';
import { workerMessages } from '../helpers/cluster.js';
import { freePort, get } from '../http/load.js';

const PRELOAD = fileURLToPath(new URL('../../dist/auto/preload.cjs', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/auto/${name}`, import.meta.url));

const supervisors = new Set<Supervisor>();
afterEach(async () => {
  await Promise.all([...supervisors].map((s) => s.shutdown({ timeout: 3_000 })));
  supervisors.clear();
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
});

/** Every hello a worker's bus sent, by worker id: one instance id per bus. */
function recordHellos(): Map<number, Set<unknown>> {
  const hellos = new Map<number, Set<unknown>>();
  const onMessage = (worker: Worker, message: any) => {
    if (message?.$cb === undefined || message.k !== 'ctl' || message.c !== 'hello') return;
    if (!hellos.has(worker.id)) hellos.set(worker.id, new Set());
    hellos.get(worker.id)!.add(message.d?.instance);
  };
  cluster.on('message', onMessage);
  afterAll(() => {
    cluster.off('message', onMessage);
  });
  return hellos;
}

/** What bus-app.mjs serves on its own bus. */
const busAppContract = defineContract({ worker: { whoami: { output: z.object({ pid: z.number() }) } } });

function zeroCode(
  script: string,
  ready: ReadyMode,
  env: Record<string, string> = {},
  readyTimeout = 20_000,
  contract: Contract = defineContract({}),
) {
  if (!existsSync(PRELOAD)) throw new Error(`${PRELOAD} is missing: run \`npm run build\` first`);
  const supervisor = new Supervisor({
    contract,
    exec: fixture(script),
    execArgv: ['--require', PRELOAD],
    env: { ...env, [AUTO_ENV]: '1', [READY_ENV]: ready },
    size: 1,
    readyTimeout,
    probation: 100,
    signals: false,
    log: false,
    sampleInterval: 0,
  });
  supervisors.add(supervisor);
  return supervisor;
}

const hellos = recordHellos();

describe('zero-code preload', { timeout: 60_000 }, () => {
  it('listen: an ES module app with no clusterbus code is ready once its server listens, through one bus', async () => {
    const port = await freePort();
    const supervisor = zeroCode('http-app.mjs', 'listen', { PORT: String(port) });
    await supervisor.start();
    const [row] = supervisor.status();
    expect(row).toMatchObject({ state: 'ready' });
    expect((await get(port, '/', false)).body).toEqual({ pid: row!.pid });
    expect(hellos.get(row!.id!)?.size).toBe(1);
  });

  it('listen: shutdown drains the server — a slow request in flight is answered (Connection: close), the worker exits 0', async () => {
    const port = await freePort();
    const supervisor = zeroCode('http-app.mjs', 'listen', { PORT: String(port) });
    await supervisor.start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
    try {
      const arrived = workerMessages((m) => typeof m.slowArrived === 'number', 3);
      const slow = Array.from({ length: 3 }, () => get(port, '/slow?ms=800', agent));
      await arrived;
      const exits: Array<number | null> = [];
      supervisor.on('workerExit', (exit) => exits.push(exit.code));
      const result = await supervisor.shutdown({ timeout: 10_000 });
      const answers = await Promise.all(slow);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(answers.every((a) => a.headers.connection === 'close')).toBe(true);
      expect(result).toMatchObject({ graceful: true, killed: [] });
      expect(exits).toEqual([0]);
    } finally {
      agent.destroy();
    }
  });

  it('listen: a worker that never listens is not ready (start fails at readyTimeout)', async () => {
    const supervisor = zeroCode('no-server-app.cjs', 'listen', {}, 1_500);
    const booted = workerMessages((m) => typeof m.booted === 'number');
    const error = await supervisor.start().catch((e) => e);
    await booted;
    expect(error).toBeInstanceOf(ClusterStartError);
    expect(error.message).toMatch(/did not call ready\(\) within 1500 ms/);
  });

  it('message: listening is not enough; process.send("ready") (PM2 wait_ready) is', async () => {
    const port = await freePort();
    const supervisor = zeroCode('pm2-app.cjs', 'message', { PORT: String(port) });
    const listening = workerMessages((m) => typeof m.listening === 'number');
    const started = supervisor.start();
    await listening;
    // A turn later zero-code "listen" would have signalled; "message" waits for the app.
    await new Promise((resolve) => setImmediate(resolve));
    const [row] = supervisor.status();
    expect(row!.state).toBe('starting');
    cluster.workers![row!.id!]!.send('go');
    await started;
    expect(supervisor.status()[0]!.state).toBe('ready');
    expect((await get(port, '/', false)).status).toBe(200);
  });

  it('start: an app with no server is ready at once', async () => {
    const supervisor = zeroCode('no-server-app.cjs', 'start');
    await supervisor.start();
    expect(supervisor.status()[0]!.state).toBe('ready');
    // and it drains and exits cleanly on shutdown
    expect(await supervisor.shutdown({ timeout: 5_000 })).toMatchObject({ graceful: true });
  });

  it('an app with its own worker bus keeps control: no second bus, no ready on its behalf', async () => {
    const port = await freePort();
    const supervisor = zeroCode('bus-app.mjs', 'listen', { PORT: String(port) }, 20_000, busAppContract);
    const listening = workerMessages((m) => typeof m.listening === 'number');
    const started = supervisor.start();
    await listening; // its server has listened for 300 ms
    const [row] = supervisor.status();
    expect(row!.state).toBe('starting');
    cluster.workers![row!.id!]!.send('go');
    await started;
    expect(supervisor.status()[0]!.state).toBe('ready');
    expect(hellos.get(row!.id!)?.size).toBe(1);
    // The bus that answers is the app's own (its contract's procedure).
    const bus = supervisor.bus as unknown as Supervisor<typeof busAppContract>['bus'];
    expect(await bus.call(row!.id!, 'whoami')).toEqual({ pid: row!.pid });
  });
});
