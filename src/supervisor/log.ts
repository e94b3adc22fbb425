/**
 * The supervisor's own voice: one concise line for each thing it does (start, an unexpected exit
 * and its respawn, a crash loop, reload start/done/failed, scale, shutdown), to stderr by default
 * or to the user's logger (`info`/`warn`/`error(msg, data)`: console, pino, winston…).
 */
import type { EventEmitter } from 'eventemitter3';
import type { SupervisorEvents } from './events.js';

/** A logger the supervisor writes to: `console`, a pino or winston logger, or your own. */
export interface SupervisorLogger {
  info(msg: string, data?: object): void;
  warn(msg: string, data?: object): void;
  error(msg: string, data?: object): void;
}

/** The default logger: `[clusterbus] <line>` on stderr (data objects are for custom loggers only). */
export const stderrLogger: SupervisorLogger = {
  info: (msg) => process.stderr.write(`[clusterbus] ${msg}\n`),
  warn: (msg) => process.stderr.write(`[clusterbus] ${msg}\n`),
  error: (msg) => process.stderr.write(`[clusterbus] ${msg}\n`),
};

/**
 * Resolves the `log` / `logger` options: `undefined` means silent.
 * @throws TypeError for a logger without info/warn/error functions, or a non-boolean `log`.
 */
export function resolveLogger(log: unknown, logger: unknown, where: string): SupervisorLogger | undefined {
  if (log !== undefined && typeof log !== 'boolean') {
    throw new TypeError(`${where}: log must be a boolean, got ${String(log)}`);
  }
  if (logger !== undefined) {
    const candidate = logger as Partial<Record<keyof SupervisorLogger, unknown>> | null;
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      typeof candidate.info !== 'function' ||
      typeof candidate.warn !== 'function' ||
      typeof candidate.error !== 'function'
    ) {
      throw new TypeError(
        `${where}: logger must be an object with info, warn and error functions (console, pino, …), got ${String(logger)}`,
      );
    }
  }
  if (log === false) return undefined;
  return (logger as SupervisorLogger | undefined) ?? stderrLogger;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Writes the lifecycle lines of the events `events` emits to `logger`; returns the function that
 * stops. Start and scale are told by the supervisor itself (they are not events of their own).
 */
export function attachLog(events: EventEmitter<SupervisorEvents>, logger: SupervisorLogger): () => void {
  // Calls into a user's logger must never break the supervisor: a throwing logger is ignored.
  const say = (level: keyof SupervisorLogger, msg: string, data?: object) => {
    try {
      logger[level](msg, data);
    } catch {}
  };
  const listeners: { [E in keyof SupervisorEvents]?: SupervisorEvents[E] } = {
    workerExit: (exit) => {
      if (exit.planned) return;
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      say('warn', `worker ${exit.id} (pid ${exit.pid}, slot ${exit.slot}) ${how} unexpectedly`, exit);
    },
    respawnScheduled: (r) =>
      say('info', `respawning slot ${r.slot} in ${r.delay} ms (attempt ${r.attempt})`, r),
    respawnFailed: (f) => say('error', f.error.message, { slot: f.slot, attempt: f.attempt }),
    crashLoop: (loop) =>
      say(
        'error',
        `slot ${loop.slot} crashed ${plural(loop.crashes, 'time')} within ${loop.window} ms: stopped respawning it (the other slots keep serving; fix the worker and reload() to revive it)`,
        loop,
      ),
    reloadStart: (info) => {
      say(
        'info',
        `reloading ${plural(info.slots, 'worker')} (${info.canary ? 'a canary first, then ' : ''}${info.parallel} at a time)`,
        info,
      );
    },
    reloadDone: (result) =>
      say(
        'info',
        `reload done in ${result.durationMs} ms: ${plural(result.replaced.length, 'worker')} replaced${result.killed.length > 0 ? `, ${result.killed.length} old killed at the drain deadline` : ''}`,
        { durationMs: result.durationMs, replaced: result.replaced.length, killed: result.killed },
      ),
    reloadFailed: (error) =>
      say('error', error.message, { slot: error.slot, replaced: error.replaced.length }),
    shutdownStart: (info) =>
      say('info', `shutting down (${info.reason}), ${info.timeout} ms for the workers to drain`, info),
    shutdownDone: (result) =>
      say(
        result.graceful ? 'info' : 'warn',
        `shut down in ${result.durationMs} ms: ${plural(result.drained.length, 'worker')} drained${result.killed.length > 0 ? `, ${result.killed.length} killed` : ''}`,
        result,
      ),
  };
  for (const [name, listener] of Object.entries(listeners))
    events.on(name as keyof SupervisorEvents, listener as never);
  return () => {
    for (const [name, listener] of Object.entries(listeners))
      events.off(name as keyof SupervisorEvents, listener as never);
  };
}
