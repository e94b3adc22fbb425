/**
 * Reloads and scales take turns: one runs at a time; one asked for while another runs waits, and
 * requests of the same kind waiting together coalesce into one run (reload options merged, the
 * last scale size winning), whose result every caller of it gets.
 */
import { ClosedError } from '../errors.js';
import type { ReloadResult, ScaleResult } from './events.js';
import { mergeReloadOptions, type ReloadOptions } from './options.js';

/** What a turn runs: the supervisor's reload and scale. */
export interface TurnRunners {
  reload(options: ReloadOptions | undefined): Promise<ReloadResult>;
  scale(size: number): Promise<ScaleResult>;
  /** True once a shutdown began: waiting turns are refused then. */
  readonly closing: boolean;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

type Waiting =
  | { kind: 'reload'; options: ReloadOptions | undefined; settle: Deferred<ReloadResult> }
  | { kind: 'scale'; size: number; settle: Deferred<ScaleResult> };

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The queue of reloads and scales of one supervisor. */
export class Turns {
  readonly #runners: TurnRunners;
  #running: Promise<unknown> | undefined;
  readonly #waiting: Waiting[] = [];

  constructor(runners: TurnRunners) {
    this.#runners = runners;
  }

  /** Runs a reload now, or when the running turn is done (coalesced with a waiting reload). */
  reload(options: ReloadOptions | undefined): Promise<ReloadResult> {
    if (!this.#running) return this.#run(this.#runners.reload(options));
    const waiting = this.#waiting.find((turn) => turn.kind === 'reload');
    if (waiting) {
      waiting.options = mergeReloadOptions(waiting.options, options);
      return waiting.settle.promise;
    }
    const settle = deferred<ReloadResult>();
    this.#waiting.push({ kind: 'reload', options, settle });
    return settle.promise;
  }

  /** Runs a scale now, or when the running turn is done (a waiting scale takes the new size). */
  scale(size: number): Promise<ScaleResult> {
    if (!this.#running) return this.#run(this.#runners.scale(size));
    const waiting = this.#waiting.find((turn) => turn.kind === 'scale');
    if (waiting) {
      waiting.size = size;
      return waiting.settle.promise;
    }
    const settle = deferred<ScaleResult>();
    this.#waiting.push({ kind: 'scale', size, settle });
    return settle.promise;
  }

  /** Resolves once the running turn settled (never rejects); refuses every waiting one. */
  async close(): Promise<void> {
    await this.#running?.catch(() => {});
    this.#refuseWaiting();
  }

  #run<T>(run: Promise<T>): Promise<T> {
    this.#running = run;
    const next = () => {
      this.#running = undefined;
      if (this.#runners.closing) return this.#refuseWaiting();
      const turn = this.#waiting.shift();
      if (!turn) return;
      if (turn.kind === 'reload')
        this.#run(this.#runners.reload(turn.options)).then(turn.settle.resolve, turn.settle.reject);
      else this.#run(this.#runners.scale(turn.size)).then(turn.settle.resolve, turn.settle.reject);
    };
    run.then(next, next);
    return run;
  }

  #refuseWaiting(): void {
    for (const turn of this.#waiting.splice(0)) {
      turn.settle.reject(new ClosedError(`${turn.kind}(): the cluster is shutting down`));
    }
  }
}
