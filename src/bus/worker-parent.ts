/**
 * Who runs this worker: a clusterbus supervisor, PM2, nothing (plain `node worker.js` under
 * docker or systemd), or some other parent with an IPC channel (a `createPrimaryBus` primary
 * forking with `cluster.fork()` itself, or a foreign one). The same worker file behaves well under
 * each: the worker bus asks this module what to expect from the other end of its channel.
 */
import cluster from 'node:cluster';
import { SUPERVISED_ENV } from './worker-lifecycle.js';

/**
 * - `clusterbus`: forked by a clusterbus supervisor (`CLUSTERBUS_SUPERVISED=1`).
 * - `pm2`: run by PM2 (its `pm_id` in the environment) and not by a supervisor.
 * - `none`: no IPC channel: nobody to talk to.
 * - `ipc`: an IPC channel to a parent that may or may not run a clusterbus bus.
 */
export type WorkerParent = 'clusterbus' | 'pm2' | 'none' | 'ipc';

/** Looks at this process once; the answer does not change during its life. */
export function detectParent(): WorkerParent {
  if (process.env[SUPERVISED_ENV] === '1') return 'clusterbus';
  if (typeof process.send !== 'function') return 'none';
  if (process.env.pm_id !== undefined) return 'pm2';
  return 'ipc';
}

/**
 * Tells PM2 the app is ready (`--wait-ready` / `wait_ready: true` waits for this exact message;
 * without it PM2 waits its whole `listen_timeout`). Harmless to anyone else: it carries no tag.
 */
export function tellPm2Ready(): void {
  if (typeof process.send !== 'function' || !process.connected) return;
  try {
    process.send('ready', undefined, undefined, () => {});
  } catch {
    // The channel closed meanwhile: PM2 is gone, nothing to tell.
  }
}

/** PM2's drain deadline (`kill_timeout`, which it passes in the environment), or undefined. */
export function pm2KillTimeout(): number | undefined {
  const value = Number(process.env.kill_timeout);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** True when this process is a cluster worker (PM2 cluster mode included). */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

let reportingFatal = false;

/**
 * Before an uncaught error kills this worker, tell the primary what it died of, so a start
 * failure says `EADDRINUSE` instead of blaming `ready()`. Sent with `process.send` directly, not
 * through the bus's outbound path: the process dies right after this listener, a message queued
 * for a later tick or held for the handshake would never leave, and a small IPC write that
 * starts now is flushed by the kernel even though the process exits.
 */
export function reportFatalErrors(): void {
  if (reportingFatal) return;
  reportingFatal = true;
  process.on('uncaughtExceptionMonitor', (error: unknown) => {
    // Someone handles it: the process lives on, so it is not fatal.
    if (process.listenerCount('uncaughtException') > 0) return;
    if (typeof process.send !== 'function' || !process.connected) return;
    const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as {
      name?: unknown;
      message?: unknown;
      code?: unknown;
    };
    const d = {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: typeof e.message === 'string' ? e.message.slice(0, 1_000) : '',
      code: typeof e.code === 'string' ? e.code : undefined,
    };
    try {
      process.send({ $cb: 1, k: 'ctl', c: 'fatal', d }, undefined, undefined, () => {});
    } catch {
      // Nothing more to do for a dying process.
    }
  });
}
