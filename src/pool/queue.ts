/**
 * The pool's wait line: a FIFO that also takes items at the front (retries keep their place) and
 * removes any item in O(1) (an aborted or expired task leaves at once, wherever it stands).
 */

/** A handle on one queued item; pass it to {@link TaskQueue.remove}. */
export interface QueueEntry<T> {
  readonly value: T;
  /** @internal */ prev: QueueEntry<T> | undefined;
  /** @internal */ next: QueueEntry<T> | undefined;
  /** @internal */ queued: boolean;
}

/** A doubly linked FIFO with O(1) push at either end, shift and removal. */
export class TaskQueue<T> {
  #head: QueueEntry<T> | undefined;
  #tail: QueueEntry<T> | undefined;
  #size = 0;

  /** Items waiting. */
  get size(): number {
    return this.#size;
  }

  /** The front item's handle (walk on with its `next`), or `undefined` when empty. */
  get first(): QueueEntry<T> | undefined {
    return this.#head;
  }

  /** Adds at the back; returns the handle for {@link remove}. */
  push(value: T): QueueEntry<T> {
    const entry: QueueEntry<T> = { value, prev: this.#tail, next: undefined, queued: true };
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
    this.#size++;
    return entry;
  }

  /** Adds at the front (next to leave); returns the handle for {@link remove}. */
  unshift(value: T): QueueEntry<T> {
    const entry: QueueEntry<T> = { value, prev: undefined, next: this.#head, queued: true };
    if (this.#head) this.#head.prev = entry;
    else this.#tail = entry;
    this.#head = entry;
    this.#size++;
    return entry;
  }

  /** Takes the front item, or `undefined` when empty. */
  shift(): T | undefined {
    const entry = this.#head;
    if (!entry) return undefined;
    this.remove(entry);
    return entry.value;
  }

  /** Removes an item wherever it stands. False when it already left. */
  remove(entry: QueueEntry<T>): boolean {
    if (!entry.queued) return false;
    entry.queued = false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.#head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
    this.#size--;
    return true;
  }

  /** Removes and returns every item, front first. */
  clear(): T[] {
    const values: T[] = [];
    while (this.#head) values.push(this.shift() as T);
    return values;
  }
}
