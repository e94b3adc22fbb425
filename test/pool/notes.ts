/** Collects the task notes (start / end / abort) pool fixture workers send, across workers. */

import type { Worker } from 'node:cluster';
import { once } from 'node:events';
import type { TaskNote } from '../fixtures/pool-contract.js';

/** Every note seen so far, and a way to wait for the next matching one. */
export class Notes {
  readonly all: TaskNote[] = [];
  readonly #waiters = new Set<{ match(note: TaskNote): boolean; resolve(note: TaskNote): void }>();

  /** Starts collecting from `worker`. */
  watch(...workers: Worker[]): this {
    for (const worker of workers) {
      worker.on('message', (message: unknown) => {
        if (typeof message !== 'object' || message === null || !('pool' in message)) return;
        const note = message as TaskNote;
        this.all.push(note);
        for (const waiter of [...this.#waiters]) {
          if (!waiter.match(note)) continue;
          this.#waiters.delete(waiter);
          waiter.resolve(note);
        }
      });
    }
    return this;
  }

  /** Ids of the tasks that started, once per start. */
  started(): string[] {
    return this.all.filter((note) => note.pool === 'start').map((note) => note.id);
  }

  /** Resolves with the first note (already seen or next) that matches. */
  next(match: (note: TaskNote) => boolean, timeoutMs = 10_000): Promise<TaskNote> {
    const seen = this.all.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`Notes.next: no matching task note within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (note: TaskNote) => {
          clearTimeout(timer);
          resolve(note);
        },
      };
      this.#waiters.add(waiter);
    });
  }
}

/** SIGKILLs a worker and waits for its exit. */
export async function kill(worker: Worker): Promise<void> {
  if (worker.isDead()) return;
  const exited = once(worker, 'exit');
  worker.process.kill('SIGKILL');
  await exited;
}
