/**
 * The rolling reload: canary first, then parallel batches. The canary (one slot) forks its
 * replacement, waits until it is ready and has stayed up through the probation, and only then
 * drains its old worker; the other slots follow `parallel` at a time, each adopted as soon as it
 * is ready (plus `batchProbation`). The first batch boots during the canary's probation. Every old worker is drained only after its replacement
 * serves, so never fewer than `size` workers serve. A replacement that fails aborts the reload
 * before any more old workers are touched.
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

/** A replacement that booted (ready, probation passed) and waits to be adopted into its slot. */
interface Booted {
  slot: number;
  member: Member;
  started: number;
}

/** Runs one rolling reload. Rejects with {@link ReloadError} when it had to stop. */
export async function rollingReload(host: ReloadHost, plan: ReloadPlan): Promise<ReloadResult> {
  const started = performance.now();
  const slots = host.slots();
  const batches = planBatches(slots, plan);
  const replaced: ReplacedWorker[] = [];
  /** Old workers draining; each resolves to its id when it had to be SIGKILLed at the deadline. */
  const retiring: Promise<number | undefined>[] = [];
  let failure: { slot: number | undefined; cause: unknown } | undefined;

  const adoptAll = (booted: PromiseSettledResult<Booted>[], batch: number[]) => {
    for (const [j, outcome] of booted.entries()) {
      if (outcome.status === 'rejected') {
        failure ??= { slot: batch[j], cause: outcome.reason };
        continue;
      }
      const { slot, member } = outcome.value;
      const old = host.adopt(slot, member, plan.spec);
      const row: ReplacedWorker = {
        slot,
        oldId: old?.id,
        oldPid: old?.pid,
        newId: member.id,
        newPid: member.pid,
        ms: Math.round(performance.now() - outcome.value.started),
      };
      replaced.push(row);
      host.emitStep({ ...row, index: replaced.length - 1, total: slots.length });
      if (old) {
        retiring.push(
          host.retire(old, plan.drainTimeout, 'reload').then((drained) => (drained ? undefined : old.id)),
        );
      }
    }
  };

  /** The next batch, already booting while the canary sits out its probation. */
  let early: Promise<PromiseSettledResult<Booted>[]> | undefined;
  for (const [n, batch] of batches.entries()) {
    if (failure) break;
    if (n === 0 && plan.canary && batch.length === 1) {
      const canary = await bootCanary(host, plan, batch[0]!, batches[1]);
      early = canary.next;
      if (canary.outcome.status === 'rejected') {
        failure = { slot: batch[0], cause: canary.outcome.reason };
        // The early batch runs the release that just failed: drain it gracefully (it may already
        // serve requests), never SIGKILL it under them.
        for (const outcome of (await early) ?? []) {
          if (outcome.status === 'fulfilled')
            await host.retire(outcome.value.member, plan.drainTimeout, 'reload aborted');
        }
        break;
      }
      adoptAll([canary.outcome], batch);
    } else {
      // Probation where it adds safety: the first batch runs the release first; the later ones
      // only repeat what it proved.
      const probation = n === 0 ? plan.probation : plan.batchProbation;
      const booted =
        n === 1 && early
          ? await early
          : await Promise.allSettled(batch.map((slot) => boot(host, plan, slot, probation)));
      adoptAll(booted, batch);
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

/** The canary (one slot, when asked for) and then batches of `parallel` slots. */
export function planBatches(slots: number[], plan: Pick<ReloadPlan, 'canary' | 'parallel'>): number[][] {
  const batches: number[][] = [];
  let rest = slots;
  if (plan.canary && slots.length > 0) {
    batches.push(slots.slice(0, 1));
    rest = slots.slice(1);
  }
  for (let i = 0; i < rest.length; i += plan.parallel) batches.push(rest.slice(i, i + plan.parallel));
  return batches;
}

/**
 * The canary: forked alone, so a release that cannot boot costs one worker. Once it is ready, the
 * next batch starts booting while the canary sits out its probation (the wait that catches a
 * release dying just after boot), so the probation costs no wall time when the batch boots slower
 * than it. Nothing is adopted, and no old worker drained, before the canary passed.
 */
async function bootCanary(
  host: ReloadHost,
  plan: ReloadPlan,
  slot: number,
  nextBatch: number[] | undefined,
): Promise<{
  outcome: PromiseSettledResult<Booted>;
  next: Promise<PromiseSettledResult<Booted>[]> | undefined;
}> {
  const started = performance.now();
  let member: Member;
  try {
    if (host.closing) throw new ClosedError('the cluster began shutting down');
    member = host.forkReplacement(slot, plan.spec);
  } catch (error) {
    return { outcome: { status: 'rejected', reason: error }, next: undefined };
  }
  try {
    await member.whenReady(plan.readyTimeout);
  } catch (error) {
    await host.discard(member);
    return { outcome: { status: 'rejected', reason: error }, next: undefined };
  }
  const next =
    nextBatch && !host.closing
      ? Promise.allSettled(nextBatch.map((s) => boot(host, plan, s, plan.batchProbation)))
      : undefined;
  try {
    await member.staysUp(plan.probation);
    if (host.closing) throw new ClosedError('the cluster began shutting down');
  } catch (error) {
    await host.discard(member);
    return { outcome: { status: 'rejected', reason: error }, next };
  }
  return { outcome: { status: 'fulfilled', value: { slot, member, started } }, next };
}

/** Forks slot's replacement, waits for ready and `probation`; discards it when either fails. */
async function boot(host: ReloadHost, plan: ReloadPlan, slot: number, probation: number): Promise<Booted> {
  if (host.closing) throw new ClosedError('the cluster began shutting down');
  const started = performance.now();
  const member = host.forkReplacement(slot, plan.spec);
  try {
    await member.whenReady(plan.readyTimeout);
    await member.staysUp(probation);
    if (host.closing) throw new ClosedError('the cluster began shutting down');
  } catch (error) {
    await host.discard(member);
    throw error;
  }
  return { slot, member, started };
}
