/**
 * The task pool: runs a worker procedure on the least-busy ready worker, queues what no worker can
 * take yet (bounded), and gives producers a backpressure signal. Built on the primary bus alone:
 * a task is one `bus.call`, so its result and errors are exactly those of `bus.call`.
 */
import { EventEmitter } from 'eventemitter3';
import type { PrimaryBus, WorkerInfo } from '../bus/primary-bus.js';
import { unknownMethodError } from '../bus/routes.js';
import type { CallArgs, CallOutput, Contract, WorkerProcedures } from '../contract.js';
import {
  AbortedError,
  ClosedError,
  isBusError,
  NotReadyError,
  OverloadedError,
  TimeoutError,
} from '../errors.js';
import {
  checkRunOptions,
  type ResolvedPoolOptions,
  type RunOptions,
  resolvePoolOptions,
  type TaskPoolOptions,
} from './options.js';
import { type QueueEntry, TaskQueue } from './queue.js';
import { type Slot, Slots } from './slots.js';
import { DurationWindow, type PoolStats } from './stats.js';

/** What a {@link TaskPool} emits. */
export interface TaskPoolEvents {
  /** {@link TaskPool.needsDrain} turned false: producers may submit again. */
  drain: [];
  /** Nothing is queued or running. */
  idle: [];
  /** A task is resubmitted because its worker died (see the `retry` option). */
  retry: [info: RetryInfo];
}

/** What the `'retry'` event tells. */
export interface RetryInfo {
  method: string;
  /** The worker that died with the task. */
  workerId: number;
  /** Resubmissions so far, this one included. */
  attempt: number;
  /** The PEER_GONE error of the failed attempt. */
  error: Error;
}

type WorkerMethod<C> = keyof WorkerProcedures<C> & string;

interface Task {
  method: string;
  input: unknown;
  signal: AbortSignal | undefined;
  /** The `timeout` the task was given (for messages). */
  timeout: number;
  /** `performance.now()` by which it must settle; `Infinity` when it has no deadline. */
  deadline: number;
  retriesLeft: number;
  retries: number;
  /** Workers this task failed on (PEER_GONE): a retry never goes back to them. */
  failedOn: number[] | undefined;
  /** When it (re)entered the queue. */
  queuedAt: number;
  entry: QueueEntry<Task> | undefined;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Runs worker procedures on the least-busy ready worker. Create with {@link createTaskPool}.
 *
 * Only workers whose bus state is `ready` get tasks; `starting`, `draining` and `exited` ones get
 * none, and tasks already running on a draining worker finish there. Close the pool before the bus.
 */
export class TaskPool<C extends Contract> extends EventEmitter<TaskPoolEvents> {
  readonly #bus: PrimaryBus<C>;
  readonly #options: ResolvedPoolOptions;
  readonly #slots: Slots;
  readonly #queue = new TaskQueue<Task>();
  readonly #runTime: DurationWindow;
  readonly #waitTime: DurationWindow;
  readonly #errors: Record<string, number> = {};
  readonly #unwatch: () => void;
  #running = 0;
  #completed = 0;
  #failed = 0;
  #overloaded = 0;
  #retried = 0;
  #needsDrain = false;
  #closed = false;

  /**
   * @param gate.accept Which ready workers may take tasks right now (default: all). The supervisor
   *   keeps a reload's replacement out until its probation passed; call {@link refresh} when the
   *   answer changes.
   */
  constructor(
    bus: PrimaryBus<C>,
    options?: TaskPoolOptions,
    gate: { accept?: (workerId: number) => boolean } = {},
  ) {
    super();
    if (typeof (bus as { watchWorkers?: unknown } | null)?.watchWorkers !== 'function') {
      throw new TypeError(
        `createTaskPool(bus): expected the primary bus from createPrimaryBus(), got ${String(bus)}`,
      );
    }
    this.#bus = bus;
    this.#options = resolvePoolOptions(options);
    // A task that timed out or was aborted frees its place in this pool's count at once, but its
    // handler may ignore ctx.signal and keep running: the bus counts those until they answer.
    // The bus's own check too: a worker whose channel just closed takes nothing, even before the
    // bus has told its watchers (this pool among them) that it exited.
    const accept = gate.accept;
    this.#slots = new Slots(
      this.#options.concurrency,
      (id) => bus.abandonedCalls(id),
      accept ? (id) => bus.isReady(id) && accept(id) : (id) => bus.isReady(id),
    );
    this.#runTime = new DurationWindow(this.#options.statsWindow);
    this.#waitTime = new DurationWindow(this.#options.statsWindow);
    for (const info of bus.workers()) this.#slots.update(info);
    this.#unwatch = bus.watchWorkers((info) => this.#onWorker(info));
  }

  /** Re-checks which workers take tasks (after the `accept` gate changed its mind) and dispatches queued ones. */
  refresh(): void {
    this.#pump();
    this.#updateDrain();
  }

  /** The options in effect, defaults filled in (a copy). */
  get options(): Readonly<ResolvedPoolOptions> {
    return { ...this.#options };
  }

  /** Tasks waiting for a free worker. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Tasks running on a worker. */
  get running(): number {
    return this.#running;
  }

  /**
   * True while every ready worker is at its `concurrency` and at least `highWaterMark` tasks are
   * queued. Producers that check it (and wait for `'drain'`, or {@link onDrain}) never hit
   * OVERLOADED.
   */
  get needsDrain(): boolean {
    return this.#needsDrain;
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `method` on the ready worker with the fewest of this pool's tasks in flight (ties
   * round-robin), or queues it until one is free. Resolves and rejects exactly like `bus.call`,
   * plus, before the task reaches a worker: OVERLOADED at once when `maxQueue` tasks are waiting;
   * NOT_READY (no ready worker) or TIMEOUT (all busy) at the task's deadline; ABORTED when
   * `signal` aborts (the task leaves the queue and never runs; a running task's `ctx.signal`
   * aborts in the worker); CLOSED when the pool closes first. With `retry`, a task whose worker
   * dies mid-run is resubmitted instead of rejecting with PEER_GONE.
   * @throws TypeError / RangeError at once for a bad option.
   */
  run<M extends WorkerMethod<C>>(
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], RunOptions>
  ): Promise<CallOutput<WorkerProcedures<C>[M]>> {
    const [input, options] = args as [unknown, RunOptions | undefined];
    if (typeof method !== 'string') {
      throw new TypeError(`run(method): method must be a procedure name, got ${String(method)}`);
    }
    checkRunOptions(options, method);
    const procedures = this.#bus.contract.worker;
    if (!procedures || !Object.hasOwn(procedures, method)) {
      return Promise.reject(unknownMethodError(method, this.#bus.contract, 'worker', `run("${method}")`));
    }
    if (this.#closed) {
      return Promise.reject(
        new ClosedError(`run("${method}"): the task pool is closed; create a new pool to run more tasks`),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      return Promise.reject(
        new AbortedError(`task "${method}" was aborted before it was submitted to the pool`, {
          cause: signal.reason,
        }),
      );
    }
    const timeout = options?.timeout ?? this.#options.timeout;
    const now = performance.now();
    return new Promise((resolve, reject) => {
      const task: Task = {
        method,
        input,
        signal,
        timeout,
        deadline:
          timeout > 0 && timeout !== Number.POSITIVE_INFINITY ? now + timeout : Number.POSITIVE_INFINITY,
        retriesLeft: options?.retry ?? this.#options.retry,
        retries: 0,
        failedOn: undefined,
        queuedAt: now,
        entry: undefined,
        timer: undefined,
        onAbort: undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      if (this.#queue.size === 0) {
        const slot = this.#slots.pick();
        if (slot) {
          this.#dispatch(task, slot, now);
          this.#updateDrain();
          return;
        }
      }
      if (this.#queue.size >= this.#options.maxQueue) {
        this.#overloaded++;
        reject(
          new OverloadedError(
            `run("${method}") was refused: the pool queue is full (${this.#queue.size} waiting, ` +
              `${this.#running} running on ${this.#slots.readyCount} ready workers); wait for 'drain' ` +
              `(pool.needsDrain / pool.onDrain()) before submitting more, or raise maxQueue`,
          ),
        );
        return;
      }
      this.#enqueue(task, false);
      this.#updateDrain();
    });
  }

  /** A snapshot of the pool's figures (a copy). */
  stats(): PoolStats {
    return {
      queued: this.#queue.size,
      running: this.#running,
      completed: this.#completed,
      failed: this.#failed,
      overloaded: this.#overloaded,
      retried: this.#retried,
      errors: { ...this.#errors },
      needsDrain: this.#needsDrain,
      readyWorkers: this.#slots.readyCount,
      capacity: this.#slots.capacity,
      workers: this.#slots.rows(),
      runTime: this.#runTime.summary(),
      waitTime: this.#waitTime.summary(),
    };
  }

  /** Resolves when {@link needsDrain} is false (at once if it already is). */
  onDrain(): Promise<void> {
    if (!this.#needsDrain) return Promise.resolve();
    return new Promise((resolve) => this.once('drain', resolve));
  }

  /** Resolves when nothing is queued or running (at once if so already). */
  onIdle(): Promise<void> {
    if (this.#queue.size === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.once('idle', resolve));
  }

  /**
   * Stops the pool: `run()` rejects with CLOSED from now on, and queued tasks reject with CLOSED
   * (they never ran). Tasks already on a worker keep running and settle as usual; await
   * {@link onIdle} to wait for them. Does not close the bus. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    for (const task of this.#queue.clear()) {
      task.entry = undefined;
      this.#fail(
        task,
        new ClosedError(`task "${task.method}" was still queued when the task pool closed; it never ran`),
      );
    }
    this.#updateDrain();
    this.#checkIdle();
  }

  // ---- internals ----------------------------------------------------------------------------

  #onWorker(info: WorkerInfo): void {
    if (this.#slots.update(info)) this.#pump();
    else this.#updateDrain();
  }

  #enqueue(task: Task, front: boolean): void {
    task.queuedAt = performance.now();
    task.entry = front ? this.#queue.unshift(task) : this.#queue.push(task);
    if (task.deadline !== Number.POSITIVE_INFINITY) {
      task.timer = setTimeout(() => this.#expire(task), Math.max(0, task.deadline - task.queuedAt));
      // A queued task must never keep the process alive on its own.
      task.timer.unref();
    }
    if (task.signal) {
      const signal = task.signal;
      task.onAbort = () => {
        if (!this.#unqueue(task)) return;
        this.#fail(
          task,
          new AbortedError(`task "${task.method}" was aborted while queued in the pool; it never ran`, {
            cause: signal.reason,
          }),
        );
        this.#afterChange();
      };
      signal.addEventListener('abort', task.onAbort, { once: true });
    }
  }

  /** Takes a task out of the queue and drops its timer and abort listener. False if it had left. */
  #unqueue(task: Task): boolean {
    if (task.timer) clearTimeout(task.timer);
    task.timer = undefined;
    if (task.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
    task.onAbort = undefined;
    const removed = task.entry !== undefined && this.#queue.remove(task.entry);
    task.entry = undefined;
    return removed;
  }

  #expire(task: Task): void {
    task.timer = undefined;
    if (!this.#unqueue(task)) return;
    const waited = `${task.timeout} ms`;
    const error =
      this.#slots.readyCount === 0
        ? new NotReadyError(
            `task "${task.method}" found no ready worker within ${waited}: ${this.#describeWorkers()}; ` +
              'fork workers and have them call bus.ready(), or give the task a longer timeout',
          )
        : new TimeoutError(
            `task "${task.method}" timed out after ${waited} waiting in the pool queue: all ` +
              `${this.#slots.readyCount} ready workers were busy at concurrency ${this.#options.concurrency}; ` +
              'add workers, raise concurrency, or give the task a longer timeout',
          );
    this.#fail(task, error);
    this.#afterChange();
  }

  #describeWorkers(): string {
    const counts = new Map<string, number>();
    for (const info of this.#bus.workers()) counts.set(info.state, (counts.get(info.state) ?? 0) + 1);
    if (counts.size === 0) return 'the bus has no workers attached';
    return [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  }

  #pump(): void {
    let entry = this.#queue.first;
    while (entry) {
      const next = entry.next;
      const task = entry.value;
      const slot = this.#slots.pick(task.failedOn);
      if (slot) {
        this.#unqueue(task);
        this.#dispatch(task, slot, performance.now());
      } else if (task.failedOn === undefined || !this.#slots.hasFree) {
        break;
      }
      // Else the only free workers are ones this retried task failed on: let the tasks behind it
      // have them, it keeps its place at the front for the next worker that frees up.
      entry = next;
    }
    this.#updateDrain();
  }

  #dispatch(task: Task, slot: Slot, now: number): void {
    slot.running++;
    this.#running++;
    this.#waitTime.add(now - task.queuedAt);
    // The bus enforces what is left of the task's deadline; 0 = none.
    const timeout =
      task.deadline === Number.POSITIVE_INFINITY ? 0 : Math.max(1, Math.ceil(task.deadline - now));
    let call: Promise<unknown>;
    try {
      const bus = this.#bus as unknown as PrimaryBus<Contract>;
      call = (bus.call as (...args: unknown[]) => Promise<unknown>)(slot.id, task.method, task.input, {
        timeout,
        signal: task.signal,
      });
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      (value) => {
        this.#settled(slot, now, true);
        this.#completed++;
        task.resolve(value);
        this.#afterChange();
      },
      (error: unknown) => {
        this.#settled(slot, now, false);
        if (this.#shouldRetry(task, error)) {
          task.failedOn ??= [];
          task.failedOn.push(slot.id);
          task.retriesLeft--;
          task.retries++;
          this.#retried++;
          // It already waited its turn: back to the front, same deadline. Queued before the event,
          // so a listener that throws cannot lose the task.
          this.#enqueue(task, true);
          this.#notify('retry', {
            method: task.method,
            workerId: slot.id,
            attempt: task.retries,
            error: error as Error,
          });
        } else {
          this.#fail(task, error);
        }
        this.#afterChange();
      },
    );
  }

  #settled(slot: Slot, startedAt: number, ok: boolean): void {
    this.#runTime.add(performance.now() - startedAt);
    this.#running--;
    this.#slots.settled(slot, ok);
  }

  #shouldRetry(task: Task, error: unknown): boolean {
    return (
      task.retriesLeft > 0 &&
      isBusError(error) &&
      error.code === 'PEER_GONE' &&
      !this.#closed &&
      !task.signal?.aborted &&
      performance.now() < task.deadline
    );
  }

  #fail(task: Task, error: unknown): void {
    this.#failed++;
    const code = isBusError(error) ? error.code : 'UNKNOWN';
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
    task.reject(error);
  }

  /** Something left the queue or a worker: feed the workers, then update the signals. */
  #afterChange(): void {
    if (!this.#closed) this.#pump();
    else this.#updateDrain();
    this.#checkIdle();
  }

  #updateDrain(): void {
    const needsDrain =
      !this.#closed && this.#queue.size >= this.#options.highWaterMark && !this.#slots.hasFree;
    if (needsDrain === this.#needsDrain) return;
    this.#needsDrain = needsDrain;
    if (!needsDrain) this.#notify('drain');
  }

  #checkIdle(): void {
    if (this.#queue.size === 0 && this.#running === 0) this.#notify('idle');
  }

  /**
   * Emits after the pool's state is consistent. A listener that throws must not leave a task
   * half-dispatched or unsettled: its error is rethrown on its own turn, like any uncaught error.
   */
  #notify<E extends keyof TaskPoolEvents>(event: E, ...args: TaskPoolEvents[E]): void {
    try {
      (this.emit as (event: E, ...rest: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/**
 * Creates a task pool over a primary bus. The pool follows the bus's worker states: workers that
 * become ready start taking tasks at once, draining and exited ones take no more.
 * @throws TypeError when `bus` is not a primary bus; RangeError for a bad option (named, with its value).
 */
export function createTaskPool<C extends Contract>(
  bus: PrimaryBus<C>,
  options?: TaskPoolOptions,
): TaskPool<C> {
  return new TaskPool(bus, options);
}
