/**
 * The pending calls of one link by id: a ring of slots for numeric ids, a `Map` for the rest.
 *
 * Why not just a `Map`: a map with a set and a delete per call keeps replacing its hash table, and
 * once its table is in old space V8 allocates the replacements there too. The dead tables still
 * point at the entries they held, and the scavenger treats old-to-young pointers as roots, so every
 * entry (and whatever it points to) survives each scavenge and is promoted. Measured at 64 calls in
 * flight over IPC: 0.8–2.4 MB promoted per scavenge and a mark-compact every 400 ms. A ring is one
 * array that stays put, and a slot is cleared when its call settles, so nothing dead points at a
 * call any more.
 *
 * Numeric ids are consecutive, so the calls in flight sit in consecutive slots. A call that is
 * still pending when its slot comes round again (it outlived `capacity` newer calls) makes the
 * ring twice as large, up to {@link MAX_RING}; past that it moves to the map, which then only
 * holds such stragglers and churns little.
 */
import type { CallId } from './protocol.js';

/** Slots to begin with (a power of two). */
const INITIAL_RING = 256;
/** The ring grows no larger: 512 KiB of slots. Calls beyond it wait in the map. */
const MAX_RING = 65_536;

/** What the table holds: something that knows its own id. */
export interface HasCallId {
  readonly id: CallId;
}

/** Pending calls by id. */
export class CallTable<T extends HasCallId> {
  #ring: Array<T | undefined> = new Array(INITIAL_RING).fill(undefined);
  #mask = INITIAL_RING - 1;
  /** String ids, and numeric ones that did not fit in the ring. */
  readonly #others = new Map<CallId, T>();
  #inRing = 0;

  /** Calls held. */
  get size(): number {
    return this.#inRing + this.#others.size;
  }

  get(id: CallId): T | undefined {
    if (typeof id === 'number') {
      const slot = this.#ring[id & this.#mask];
      if (slot !== undefined && slot.id === id) return slot;
    }
    return this.#others.size === 0 ? undefined : this.#others.get(id);
  }

  /** Adds `entry` under its own id (which must not be held yet). */
  add(entry: T): void {
    const id = entry.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      this.#others.set(id, entry);
      return;
    }
    // Taken: that call outlived a full ring of newer ones.
    while (this.#ring[id & this.#mask] !== undefined) {
      if (!this.#grow()) {
        this.#others.set(id, entry);
        return;
      }
    }
    this.#ring[id & this.#mask] = entry;
    this.#inRing++;
  }

  /** Removes the entry held under `id`, if any. */
  delete(id: CallId): void {
    if (typeof id === 'number') {
      const index = id & this.#mask;
      const slot = this.#ring[index];
      if (slot !== undefined && slot.id === id) {
        this.#ring[index] = undefined;
        this.#inRing--;
        return;
      }
    }
    this.#others.delete(id);
  }

  /** Every entry held (a copy: the caller may delete while it walks). */
  values(): T[] {
    const all: T[] = [];
    for (const slot of this.#ring) if (slot !== undefined) all.push(slot);
    for (const entry of this.#others.values()) all.push(entry);
    return all;
  }

  /** Doubles the ring, if it may still grow; returns whether it did. */
  #grow(): boolean {
    const size = this.#ring.length * 2;
    if (size > MAX_RING) return false;
    const old = this.#ring;
    this.#ring = new Array(size).fill(undefined);
    this.#mask = size - 1;
    // Ids that shared no slot in the old ring share none in this one; the only clash left is for
    // the id being added, which the caller checks again.
    for (const entry of old) {
      if (entry === undefined) continue;
      this.#ring[(entry.id as number) & this.#mask] = entry;
    }
    // The old array is garbage now, but until a full GC it would still hold these calls alive.
    old.fill(undefined);
    return true;
  }
}
