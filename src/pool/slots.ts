/**
 * The pool's view of the workers: which ones take tasks (bus state `ready`), how many tasks this
 * pool has running on each, and the choice of the next one — the fewest tasks in flight, ties
 * broken round-robin. Counts are the pool's own (calls made with `bus.call` directly are not
 * counted), so the choice never waits on the bus.
 */
import type { WorkerInfo } from '../bus/primary-bus.js';
import type { PoolWorkerStats } from './stats.js';

/** One worker as the pool tracks it. */
export interface Slot {
  readonly id: number;
  ready: boolean;
  running: number;
  completed: number;
  failed: number;
}

/** The workers a pool can use, in the order they became ready. */
export class Slots {
  readonly #concurrency: number;
  /** Work the worker still has beyond this pool's count: calls given up on that it is still running. */
  readonly #extraLoad: (id: number) => number;
  readonly #byId = new Map<number, Slot>();
  /** The ready slots, in the order they became ready. */
  #ready: Slot[] = [];
  /** Where the round-robin scan starts next. */
  #cursor = 0;
  /** Exited workers whose last tasks have not settled yet. */
  readonly #gone = new Set<number>();

  /** Whether a ready worker may take tasks now (the supervisor holds back replacements in probation). */
  readonly #accept: (id: number) => boolean;

  constructor(
    concurrency: number,
    extraLoad: (id: number) => number = () => 0,
    accept: (id: number) => boolean = () => true,
  ) {
    this.#concurrency = concurrency;
    this.#extraLoad = extraLoad;
    this.#accept = accept;
  }

  /** Whether `slot` can take one more task now. */
  #free(slot: Slot): boolean {
    return this.#accept(slot.id) && this.#load(slot) < this.#concurrency;
  }

  /** A slot's load: this pool's running tasks plus the ones it gave up on that still run there. */
  #load(slot: Slot): number {
    return slot.running + this.#extraLoad(slot.id);
  }

  /** Workers that take new tasks now. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /** Tasks the ready workers can run at once. */
  get capacity(): number {
    return this.#ready.length * this.#concurrency;
  }

  /** True when some ready worker is below its concurrency. */
  get hasFree(): boolean {
    return this.#ready.some((slot) => this.#free(slot));
  }

  /**
   * Follows one bus change. Returns true when work may flow: a worker became ready, or a ready one
   * finished a call that had been given up on.
   */
  update(info: WorkerInfo): boolean {
    let slot = this.#byId.get(info.id);
    if (info.state === 'ready') {
      if (!slot) {
        slot = { id: info.id, ready: false, running: 0, completed: 0, failed: 0 };
        this.#byId.set(info.id, slot);
      }
      if (slot.ready) return this.#free(slot);
      slot.ready = true;
      this.#ready.push(slot);
      return true;
    }
    // starting, draining or exited: no new tasks; the running ones settle through the bus.
    if (slot?.ready) {
      slot.ready = false;
      this.#ready = this.#ready.filter((other) => other !== slot);
    }
    if (slot && info.state === 'exited') {
      // Its running tasks reject with PEER_GONE right after this; forget it once they have.
      if (slot.running === 0) this.#byId.delete(info.id);
      else this.#gone.add(info.id);
    }
    return false;
  }

  /**
   * The ready worker with the fewest tasks below `concurrency`, ties round-robin; `undefined` if
   * none. Workers in `exclude` (those a retried task already failed on) are passed over.
   */
  pick(exclude?: readonly number[]): Slot | undefined {
    const ready = this.#ready;
    const n = ready.length;
    let best: Slot | undefined;
    let bestLoad = 0;
    let bestIndex = 0;
    for (let k = 0; k < n; k++) {
      const index = (this.#cursor + k) % n;
      const slot = ready[index]!;
      if (!this.#free(slot) || exclude?.includes(slot.id)) continue;
      const load = this.#load(slot);
      if (best === undefined || load < bestLoad) {
        best = slot;
        bestLoad = load;
        bestIndex = index;
        if (load === 0) break;
      }
    }
    if (best) this.#cursor = (bestIndex + 1) % n;
    return best;
  }

  /** A task settled on `slot`; forgets a worker that is gone once its last task settled. */
  settled(slot: Slot, ok: boolean): void {
    slot.running--;
    if (ok) slot.completed++;
    else slot.failed++;
    if (slot.running === 0 && this.#gone.delete(slot.id)) this.#byId.delete(slot.id);
  }

  /** One row per worker (copies). */
  rows(): PoolWorkerStats[] {
    return [...this.#byId.values()].map(({ id, ready, running, completed, failed }) => ({
      id,
      ready,
      running,
      completed,
      failed,
    }));
  }
}
