/**
 * The supervisor's slots: the places in the cluster, each with the worker serving it. Forks into
 * a slot, keeps the registry of live members, and handles crashes: a crashed slot is respawned
 * with backoff under its crash budget, and stopped (crash loop) once the budget is spent.
 */
import type { Worker } from 'node:cluster';
import type { EventEmitter } from 'eventemitter3';
import { backoffDelay } from './backoff.js';
import { CrashBudget } from './crash-budget.js';
import type { LiveWorkerStatus, RespawnFailed, SupervisorEvents } from './events.js';
import { forkWorker, Member, type SpawnSpec } from './member.js';
import type { ResolvedClusterOptions } from './options.js';

/** One place in the cluster; a crashed worker is respawned into its slot, a reload replaces it. */
interface Slot {
  index: number;
  spec: SpawnSpec;
  member: Member | undefined;
  /** Respawns after crashes so far. */
  restarts: number;
  /** Consecutive crashes, for the backoff. */
  attempt: number;
  /** The worker whose crash the pending respawn replaces (-1 before the first crash). */
  crashedId: number;
  budget: CrashBudget;
  timer: NodeJS.Timeout | undefined;
  /** The crash budget is spent: no more respawns until a reload. */
  stopped: boolean;
  /** When the slot's last worker was forked (its stopped row shows it). */
  lastStartedAt: number | undefined;
}

/** What the slots need from the supervisor. */
export interface SlotsHost {
  /** Where the slots' events go (the supervisor itself). */
  readonly events: EventEmitter<SupervisorEvents>;
  /** True once a shutdown began: exits are not crashes and nothing is respawned. */
  readonly closing: boolean;
  /** True once `start()` succeeded: before that, an exit fails the start instead of respawning. */
  readonly started: boolean;
  /** Hands a freshly forked worker to the primary bus. */
  attach(worker: Worker): void;
  /** One worker's status row. */
  row(member: Member): LiveWorkerStatus;
}

/** The `size` slots of a supervised cluster and the workers serving them. */
export class WorkerSlots {
  readonly #options: ResolvedClusterOptions;
  readonly #host: SlotsHost;
  readonly #members = new Map<number, Member>();
  readonly #slots: Slot[];

  constructor(options: ResolvedClusterOptions, host: SlotsHost) {
    this.#options = options;
    this.#host = host;
    this.#slots = Array.from({ length: options.size }, (_, index) => this.#newSlot(index, options.spec));
  }

  #newSlot(index: number, spec: SpawnSpec): Slot {
    return {
      index,
      spec,
      member: undefined,
      restarts: 0,
      attempt: 0,
      crashedId: -1,
      budget: new CrashBudget(this.#options.crashBudget),
      timer: undefined,
      stopped: false,
      lastStartedAt: undefined,
    };
  }

  /** How many slots there are. */
  get size(): number {
    return this.#slots.length;
  }

  /** Adds slots up to `size` (spawned with `spec`) and forks their workers, which serve at once. */
  grow(size: number, spec: SpawnSpec): Member[] {
    const added: Member[] = [];
    while (this.#slots.length < size) {
      const slot = this.#newSlot(this.#slots.length, spec);
      this.#slots.push(slot);
      slot.member = this.#launch(slot, spec);
      added.push(slot.member);
    }
    return added;
  }

  /**
   * Removes the slots from index `size` on (the ones added last): they take no new work at once
   * and are never respawned. Returns their live workers, for the caller to drain.
   */
  shrink(size: number): Member[] {
    const removed = this.#slots.splice(size);
    const members: Member[] = [];
    for (const slot of removed) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
      if (slot.member?.alive) members.push(slot.member);
    }
    // A reload's replacement can not be in flight here (scale and reload take turns), but a
    // worker of a removed slot may be: every member whose slot is gone goes.
    for (const member of this.#members.values()) {
      if (member.slot >= size && !members.includes(member)) members.push(member);
    }
    return members;
  }

  /** The slots stopped by a crash loop that have no live worker, for their status rows. */
  stoppedSlots(): Array<{ slot: number; restarts: number; startedAt: number | undefined }> {
    return this.#slots
      .filter((slot) => slot.stopped && !slot.member)
      .map((slot) => ({ slot: slot.index, restarts: slot.restarts, startedAt: slot.lastStartedAt }));
  }

  /** The slot indexes, in order. */
  indexes(): number[] {
    return this.#slots.map((slot) => slot.index);
  }

  /** Slots that spent their crash budget and are not respawned until the next reload. */
  crashLooped(): number[] {
    return this.#slots.filter((slot) => slot.stopped).map((slot) => slot.index);
  }

  /** The live workers (a copy), in fork order. */
  members(): Member[] {
    return [...this.#members.values()];
  }

  /** True when worker `id` serves its slot (a reload's replacement only does once adopted). */
  serving(id: number): boolean {
    const member = this.#members.get(id);
    return member !== undefined && this.#slots[member.slot]?.member === member;
  }

  /** The live worker with this id, if it is one of ours. */
  member(id: number): Member | undefined {
    return this.#members.get(id);
  }

  /** Forks every slot with its spec; the new workers serve their slots. */
  launchAll(): Member[] {
    return this.#slots.map((slot) => {
      slot.member = this.#launch(slot, slot.spec);
      return slot.member;
    });
  }

  /** Forks a replacement for slot `index` with `spec`; it does not serve the slot until {@link adopt}. */
  forkInto(index: number, spec: SpawnSpec): Member {
    return this.#launch(this.#slots[index]!, spec);
  }

  /**
   * Makes `member` the worker of slot `index` with `spec`, and gives the slot a fresh start: its
   * crash budget, backoff and any pending respawn are reset. Returns the worker it replaces, if
   * that one is alive.
   */
  adopt(index: number, member: Member, spec: SpawnSpec): Member | undefined {
    const slot = this.#slots[index]!;
    const old = slot.member;
    slot.member = member;
    slot.spec = spec;
    slot.stopped = false;
    slot.attempt = 0;
    slot.budget.reset();
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    return old?.alive ? old : undefined;
  }

  /** Cancels every pending respawn. */
  cancelRespawns(): void {
    for (const slot of this.#slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
    }
  }

  #launch(slot: Slot, spec: SpawnSpec): Member {
    const worker = forkWorker(spec, slot.index, this.#options.prefix);
    const member = new Member(worker, slot.index, slot.restarts);
    slot.lastStartedAt = member.startedAt;
    this.#members.set(member.id, member);
    this.#host.attach(worker);
    worker.once('exit', () => this.#onExit(member));
    this.#host.events.emit('workerFork', this.#host.row(member));
    return member;
  }

  #onExit(member: Member): void {
    this.#members.delete(member.id);
    const exit = member.exit!;
    this.#host.events.emit('workerExit', {
      id: member.id,
      pid: member.pid,
      slot: member.slot,
      code: exit.code,
      signal: exit.signal,
      planned: member.planned,
    });
    const slot = this.#slots[member.slot];
    // A failed replacement, a retired worker, or one whose slot a scale-down removed: not the slot's.
    if (!slot || slot.member !== member) return;
    slot.member = undefined;
    if (member.planned || this.#host.closing || !this.#host.started) return;
    slot.crashedId = member.id;
    // A worker that served for a while before it crashed starts the backoff over.
    const healthy = member.readyAt !== undefined && Date.now() - member.readyAt >= this.#options.probation;
    this.#crashed(slot, healthy);
  }

  /** Counts a crash of `slot` against its budget; schedules the respawn or stops the slot. */
  #crashed(slot: Slot, healthy: boolean): void {
    if (slot.budget.record()) {
      slot.stopped = true;
      const loop = {
        slot: slot.index,
        id: slot.crashedId,
        crashes: slot.budget.count(),
        window: this.#options.crashBudget.window,
      };
      const events = this.#host.events;
      // Nobody listening (not even the log): a crash loop must not go unnoticed. Once per loop.
      if (events.listenerCount('crashLoop') === 0) {
        process.emitWarning(
          `clusterbus: slot ${loop.slot} crashed ${loop.crashes} times within ${loop.window} ms and is no longer respawned; the other slots keep serving, and a reload() revives it`,
          { code: 'CLUSTERBUS_CRASH_LOOP' },
        );
      }
      events.emit('crashLoop', loop);
      return;
    }
    slot.attempt = healthy ? 1 : slot.attempt + 1;
    const delay = backoffDelay(this.#options.backoff, slot.attempt);
    this.#host.events.emit('respawnScheduled', {
      slot: slot.index,
      id: slot.crashedId,
      attempt: slot.attempt,
      delay,
    });
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.#respawn(slot);
    }, delay);
  }

  #respawn(slot: Slot): void {
    if (this.#host.closing || slot.member) return;
    slot.restarts++;
    let member: Member;
    try {
      member = this.#launch(slot, slot.spec);
    } catch (error) {
      slot.restarts--; // nothing was forked
      this.#respawnFailed({
        slot: slot.index,
        attempt: slot.attempt,
        error: new Error(
          `respawning slot ${slot.index} (attempt ${slot.attempt}) failed: ${(error as Error).message}; retrying with backoff until the slot's crash budget is spent — check the worker's exec, env and the system's process limits`,
          { cause: error },
        ),
      });
      // A fork that throws is a crash of the slot: it is retried with a longer backoff and counts
      // against the crash budget, so a fork that can never succeed ends in crashLoop, not a busy loop.
      this.#crashed(slot, false);
      return;
    }
    slot.member = member;
    // A respawn that never becomes ready is killed; its exit counts as a crash of the slot.
    member.whenReady(this.#options.readyTimeout).catch(() => {
      if (member.alive && !member.planned) member.kill();
    });
  }

  /**
   * Reports a failed respawn fork: the typed `respawnFailed` event, `'error'` when someone listens
   * to it, and a process warning when nobody listens to either (eventemitter3 drops an unheard
   * `'error'` silently, unlike node:events which would throw).
   */
  #respawnFailed(failure: RespawnFailed): void {
    const events = this.#host.events;
    const heard = events.listenerCount('respawnFailed') > 0;
    events.emit('respawnFailed', failure);
    if (events.listenerCount('error') > 0) events.emit('error', failure.error);
    else if (!heard) process.emitWarning(failure.error);
  }
}
