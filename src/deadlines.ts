/**
 * The timeouts of one end's pending calls, on one timer instead of one each.
 *
 * A timer per call costs a `Timeout` object, a list insertion, an unref and a clear for every
 * call, and shows as ~5% of the primary's CPU at 100k calls/s. Calls mostly share one timeout (the
 * bus default), and calls made with the same timeout expire in the order they were made, so each
 * distinct timeout is a lane kept in deadline order by simply appending. One unref'd timer is armed
 * for the earliest head of any lane. A call that settles is only marked done; done entries are
 * skipped when they reach the head and swept out once they outnumber the live ones, so memory
 * stays proportional to the calls really pending even when one of them hangs for its whole
 * timeout while thousands settle behind it.
 */
import { MAX_TIMEOUT } from './call.js';

/** Something with a deadline. */
export interface Expiring {
  /** `performance.now()` at which it expires. */
  readonly expiresAt: number;
  /** True once it no longer needs its deadline (it settled, or it expired). Set by the queue on expiry. */
  done: boolean;
}

interface Lane<T> {
  items: T[];
  /** Index of the first entry not yet known to be done. */
  head: number;
}

/** Sweeps done entries only once there are at least this many (and more than live ones). */
const SWEEP_AT = 1024;

/** One timer for many deadlines. Create one per owner; `clear()` it when the owner closes. */
export class DeadlineQueue<T extends Expiring> {
  readonly #expire: (item: T) => void;
  /** By timeout in ms: each lane's entries are in the order they expire. */
  readonly #lanes = new Map<number, Lane<T>>();
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  #size = 0;
  #done = 0;

  /** `expire` runs for each entry whose deadline passed while it was not done (already marked done). */
  constructor(expire: (item: T) => void) {
    this.#expire = expire;
  }

  /** Entries held, live or done-but-not-swept (for tests of the bound). */
  get size(): number {
    return this.#size;
  }

  /** Adds an entry that expires `timeoutMs` after now (its `expiresAt`). */
  add(item: T, timeoutMs: number): void {
    let lane = this.#lanes.get(timeoutMs);
    if (!lane) {
      lane = { items: [], head: 0 };
      this.#lanes.set(timeoutMs, lane);
    }
    lane.items.push(item);
    this.#size++;
    if (item.expiresAt < this.#armedFor) this.#arm(item.expiresAt);
  }

  /** The entry settled another way: its deadline no longer matters. */
  settle(item: T): void {
    if (item.done) return;
    item.done = true;
    this.#done++;
    if (this.#done >= SWEEP_AT && this.#done * 2 > this.#size) this.#sweep();
  }

  /** Drops every entry and the timer, without expiring anything. */
  clear(): void {
    for (const lane of this.#lanes.values()) for (const item of lane.items) item.done = true;
    this.#lanes.clear();
    this.#size = 0;
    this.#done = 0;
    this.#disarm();
  }

  #arm(at: number): void {
    this.#disarm();
    this.#armedFor = at;
    // Never early: a timer may fire up to a millisecond before `at` by performance.now(); `#fire`
    // then arms again for what is left.
    // Never past a timer's maximum either (a longer delay would fire after 1 ms, again and again,
    // for a deadline a peer sent): `#fire` arms again for what is left.
    const delay = Math.min(MAX_TIMEOUT, Math.max(1, Math.ceil(at - performance.now())));
    this.#timer = setTimeout(() => this.#fire(), delay);
    // A pending call must never keep a process alive on its own.
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const expired: T[] = [];
    for (const lane of this.#lanes.values()) {
      for (let item = this.#firstLive(lane); item && item.expiresAt <= now; item = this.#firstLive(lane)) {
        item.done = true;
        expired.push(item);
        lane.head++;
        this.#size--;
      }
    }
    this.#trim();
    // After the bookkeeping: an expiry handler may add calls (a retry) or settle others.
    for (const item of expired) this.#expire(item);
    this.#rearm();
  }

  /** Moves the lane's head past entries that are done; returns the first live one. */
  #firstLive(lane: Lane<T>): T | undefined {
    const { items } = lane;
    while (lane.head < items.length) {
      const item = items[lane.head]!;
      if (!item.done) return item;
      lane.head++;
      this.#size--;
      this.#done--;
    }
    return undefined;
  }

  /** Forgets the consumed prefix of each lane, and lanes with nothing left. */
  #trim(): void {
    for (const [timeout, lane] of this.#lanes) {
      if (lane.head === lane.items.length) this.#lanes.delete(timeout);
      else if (lane.head > SWEEP_AT && lane.head * 2 > lane.items.length) {
        lane.items = lane.items.slice(lane.head);
        lane.head = 0;
      }
    }
  }

  #sweep(): void {
    // Calls mostly settle in the order they were made: moving the heads is usually enough.
    for (const lane of this.#lanes.values()) this.#firstLive(lane);
    this.#trim();
    if (this.#done < SWEEP_AT || this.#done * 2 <= this.#size) return;
    for (const lane of this.#lanes.values()) {
      lane.items = lane.items.slice(lane.head).filter((item) => !item.done);
      lane.head = 0;
    }
    this.#size -= this.#done;
    this.#done = 0;
    this.#trim();
  }

  #rearm(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const lane of this.#lanes.values()) {
      const item = this.#firstLive(lane);
      if (item && item.expiresAt < earliest) earliest = item.expiresAt;
    }
    this.#trim();
    if (earliest < this.#armedFor) this.#arm(earliest);
  }
}
