/**
 * `scale(n)`: grow by forking new slots (resolved once their workers are ready), shrink by removing
 * the highest slots at once and draining their workers. Runs as one of the supervisor's turns.
 */
import { ScaleError, type StartFailure } from './errors.js';
import type { ScaleResult } from './events.js';
import { type Member, startFailure } from './member.js';
import type { ResolvedClusterOptions } from './options.js';
import type { WorkerSlots } from './slots.js';

/** What a scale needs from the supervisor. */
export interface ScaleHost {
  readonly slots: WorkerSlots;
  /** The cluster's options: `size` is updated, `spec`, `readyTimeout`, `drainTimeout`, `logger` read. */
  readonly options: ResolvedClusterOptions;
  /** The pool re-reads which workers serve (removed slots stop getting tasks at once). */
  refreshPool(): void;
  /** Drains one worker with a deadline, SIGKILL after it. */
  retire(member: Member, timeout: number, reason: string): Promise<boolean>;
  emitScaled(result: ScaleResult): void;
}

/** Grows or shrinks to `size` slots. Rejects with {@link ScaleError} when a new worker fails to start. */
export async function scaleSlots(host: ScaleHost, size: number): Promise<ScaleResult> {
  const { slots, options } = host;
  const started = performance.now();
  const previous = slots.size;
  const done = (result: Omit<ScaleResult, 'durationMs'>): ScaleResult => {
    const full = { ...result, durationMs: Math.round(performance.now() - started) };
    if (previous !== size) {
      const what = [
        full.started.length > 0 ? ` (started ${full.started.join(', ')})` : '',
        full.stopped.length > 0 ? ` (stopped ${full.stopped.join(', ')})` : '',
      ].join('');
      options.logger?.info(
        `scaled from ${previous} to ${size} workers in ${full.durationMs} ms${what}`,
        full,
      );
    }
    host.emitScaled(full);
    return full;
  };
  if (size === previous) return done({ previous, size, started: [], stopped: [] });
  if (size < previous) {
    const leaving = slots.shrink(size);
    options.size = size;
    host.refreshPool();
    await Promise.all(leaving.map((member) => host.retire(member, options.drainTimeout, 'scale')));
    return done({ previous, size, started: [], stopped: leaving.map((m) => m.id) });
  }
  const members = slots.grow(size, options.spec);
  options.size = size;
  host.refreshPool();
  const outcomes = await Promise.allSettled(members.map((m) => m.whenReady(options.readyTimeout)));
  const failures: StartFailure[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    const member = members[i]!;
    if (outcome.status === 'fulfilled') continue;
    failures.push(startFailure(member, (outcome.reason as Error).message));
    // One that never said ready is killed: its exit counts as a crash of its slot (respawn, budget).
    if (member.alive && !member.planned) member.kill();
  }
  const ready = members.filter((m) => m.readyAt !== undefined).map((m) => m.id);
  if (failures.length > 0) {
    const list = failures.map((f) => `slot ${f.slot}: ${f.reason}`).join('; ');
    const error = new ScaleError(
      `scale(${size}): ${failures.length} of ${members.length} new workers failed to start (${list}); their slots are respawned with backoff like crashed ones`,
      { started: ready, failures },
    );
    options.logger?.error(error.message, { failures });
    throw error;
  }
  return done({ previous, size, started: ready, stopped: [] });
}
