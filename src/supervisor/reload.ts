/**
 * The rolling reload: slot by slot (or `parallel` slots at a time) fork the replacement, wait
 * until it is ready and has stayed up through its probation, and only then drain the old worker.
 * A replacement that fails aborts the reload before any more old workers are touched, so the
 * cluster never serves with fewer workers than before.
 */
import { ClosedError } from '../errors.js';
import { ReloadError, type ReplacedWorker } from './errors.js';
import type { ReloadResult } from './events.js';
import type { Member, SpawnSpec } from './member.js';
import type { ReloadPlan } from './options.js';

/** What the reload needs from the supervisor. */
export interface ReloadHost {
  /** Slot indexes to replace, in order. */
  slots(): number[];
  /** True once a shutdown began. */
  readonly closing: boolean;
  /** Forks a replacement for `slot` (not yet serving as the slot's member). */
  forkReplacement(slot: number, spec: SpawnSpec): Member;
  /** Makes `member` the slot's worker; returns the one it replaces, if any is alive. */
  adopt(slot: number, member: Member, spec: SpawnSpec): Member | undefined;
  /** Drains `member` with a deadline, SIGKILL after it. */
  retire(member: Member, timeout: number, reason: string): Promise<boolean>;
  /**
   * Gets rid of a failed replacement at once (SIGKILL) — unless a shutdown is already draining
   * it, in which case the shutdown owns it and it is left to finish its drain.
   */
  discard(member: Member): Promise<void>;
  emitStep(step: ReplacedWorker & { index: number; total: number }): void;
}

/** Runs one rolling reload. Rejects with {@link ReloadError} when it had to stop. */
export async function rollingReload(host: ReloadHost, plan: ReloadPlan): Promise<ReloadResult> {
  const started = performance.now();
  const slots = host.slots();
  const replaced: ReplacedWorker[] = [];
  /** Old workers draining; each resolves to its id when it had to be SIGKILLed at the deadline. */
  const retiring: Promise<number | undefined>[] = [];
  let failure: { slot: number | undefined; cause: unknown } | undefined;

  for (let i = 0; i < slots.length && !failure; i += plan.parallel) {
    const batch = slots.slice(i, i + plan.parallel);
    const outcomes = await Promise.allSettled(batch.map((slot) => replaceOne(host, plan, slot)));
    for (const [j, outcome] of outcomes.entries()) {
      const slot = batch[j]!;
      if (outcome.status === 'rejected') {
        failure ??= { slot, cause: outcome.reason };
        continue;
      }
      const { member, old, ms } = outcome.value;
      const row: ReplacedWorker = {
        slot,
        oldId: old?.id,
        oldPid: old?.pid,
        newId: member.id,
        newPid: member.pid,
        ms,
      };
      replaced.push(row);
      host.emitStep({ ...row, index: replaced.length - 1, total: slots.length });
      if (old) {
        retiring.push(
          host.retire(old, plan.drainTimeout, 'reload').then((drained) => (drained ? undefined : old.id)),
        );
      }
    }
    if (!failure && host.closing) {
      failure = { slot: undefined, cause: new ClosedError('the cluster began shutting down') };
    }
  }
  // The old workers finish their in-flight work before the reload reports, so its end means "stable".
  const killed = (await Promise.all(retiring)).filter((id): id is number => id !== undefined);
  if (failure) {
    const cause = failure.cause as Error;
    const where = failure.slot === undefined ? '' : ` at slot ${failure.slot}`;
    throw new ReloadError(
      `reload aborted${where} after replacing ${replaced.length} of ${slots.length} workers: ${cause?.message ?? String(cause)}; the workers not yet replaced keep serving the old code`,
      { cause, replaced, slot: failure.slot },
    );
  }
  return { replaced, killed, durationMs: Math.round(performance.now() - started) };
}

async function replaceOne(
  host: ReloadHost,
  plan: ReloadPlan,
  slot: number,
): Promise<{ member: Member; old: Member | undefined; ms: number }> {
  if (host.closing) throw new ClosedError('the cluster began shutting down');
  const started = performance.now();
  const member = host.forkReplacement(slot, plan.spec);
  try {
    await member.whenReady(plan.readyTimeout);
    await member.staysUp(plan.probation);
    if (host.closing) throw new ClosedError('the cluster began shutting down');
  } catch (error) {
    await host.discard(member);
    throw error;
  }
  const old = host.adopt(slot, member, plan.spec);
  return { member, old, ms: Math.round(performance.now() - started) };
}
