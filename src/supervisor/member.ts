/**
 * One forked worker as the supervisor tracks it: the state machine
 * `starting → ready → draining → exited`, its slot, and promises for "ready" and "exited".
 * The supervisor keeps this registry itself because `cluster.workers` drops a worker as soon as
 * it starts disconnecting (trap 9).
 */
import cluster, { type Worker } from 'node:cluster';
import type { WorkerState } from '../bus/primary-bus.js';
import { SLOT_ENV, SUPERVISED_ENV } from '../bus/worker-lifecycle.js';
import type { StartFailure } from './errors.js';
import { pipePrefixed } from './output.js';

/** How long an exited worker's IPC channel may take to deliver its last messages. */
const CHANNEL_END_WAIT_MS = 500;

/** How a worker process is started. */
export interface SpawnSpec {
  exec: string;
  args: string[];
  execArgv: string[];
  env: Record<string, string | undefined>;
  cwd: string | undefined;
  serialization: 'json' | 'advanced';
}

/** How a worker process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One worker process in one slot. */
export class Member {
  readonly worker: Worker;
  readonly id: number;
  readonly slot: number;
  readonly restarts: number;
  readonly startedAt = Date.now();
  /** True once the supervisor asked it to go (drain or kill): its exit is not a crash. */
  planned = false;
  /** When it said `ready()` (ms since epoch). */
  readyAt: number | undefined;
  /** The uncaught error it reported just before it died (`Error: listen EADDRINUSE …`), when its bus could tell. */
  fatal: string | undefined;
  #state: WorkerState = 'starting';
  #exit: ExitInfo | undefined;
  #pid: number | undefined;
  #onReady!: () => void;
  #onEarlyExit!: (error: Error) => void;
  /** Resolves when the worker says `ready()`; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves when the process exited. */
  readonly exited: Promise<ExitInfo>;

  constructor(worker: Worker, slot: number, restarts: number) {
    this.worker = worker;
    this.id = worker.id;
    this.slot = slot;
    this.restarts = restarts;
    this.#pid = worker.process.pid;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#onReady = resolve;
      this.#onEarlyExit = reject;
    });
    this.ready.catch(() => {}); // observed by whoever waits for it; never an unhandled rejection
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        const exit = { code, signal };
        this.#exit = exit;
        this.#state = 'exited';
        resolve(exit);
        // The worker's last `fatal` report may still be in the IPC pipe when 'exit' arrives: the
        // channel's end comes after it, so the failure is told once the channel closed (or soon).
        const tell = () => {
          const cause = this.fatal ? ` (it died of ${this.fatal})` : '';
          this.#onEarlyExit(new Error(`${this.name} ${describeExit(exit)} before it was ready${cause}`));
        };
        if (!worker.isConnected()) return tell();
        const timer = setTimeout(tell, CHANNEL_END_WAIT_MS);
        worker.once('disconnect', () => {
          clearTimeout(timer);
          setImmediate(tell);
        });
      });
    });
    // A spawn failure arrives as 'error' on the child process; without a listener it would crash the primary.
    worker.on('error', () => {});
  }

  /** `worker 3 (pid 1234)`, for messages. */
  get name(): string {
    return `worker ${this.id}${this.#pid === undefined ? '' : ` (pid ${this.#pid})`}`;
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** How it exited, once it did. */
  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** The worker said `ready()`. Returns true when that changed its state. */
  markReady(): boolean {
    if (this.#state !== 'starting') return false;
    this.#state = 'ready';
    this.readyAt = Date.now();
    this.#onReady();
    return true;
  }

  /** The supervisor told it to drain. Returns true when that changed its state. */
  markDraining(): boolean {
    this.planned = true;
    if (this.#state === 'draining' || this.#state === 'exited') return false;
    this.#state = 'draining';
    this.#onEarlyExit(new Error(`${this.name} was told to drain before it was ready`));
    return true;
  }

  /** SIGKILLs the process unless it is gone. */
  kill(): void {
    if (!this.alive) return;
    try {
      this.worker.process.kill('SIGKILL');
    } catch {
      // Already gone between the check and the kill.
    }
  }

  /** Resolves once ready; rejects when it exits first or `timeout` ms pass. */
  whenReady(timeout: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.name} did not call ready() within ${timeout} ms; raise readyTimeout if it needs longer to boot`,
            ),
          ),
        timeout,
      );
    });
    return Promise.race([this.ready, deadline]).finally(() => clearTimeout(timer));
  }

  /** Resolves after `ms` ms alive; rejects when it exits during that time. */
  staysUp(ms: number): Promise<void> {
    if (!this.alive)
      return Promise.reject(new Error(`${this.name} ${describeExit(this.#exit!)} during its probation`));
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
      this.exited.then((exit) => {
        throw new Error(`${this.name} ${describeExit(exit)} during its ${ms} ms probation`);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

/** `exited with code 1` / `was killed by SIGKILL`. */
export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/**
 * Forks one worker for `slot` with `spec`. `cluster.setupPrimary` is global, so it is set right
 * before each fork. With `prefix`, the worker's stdout/stderr are piped and every line is written
 * to the primary's with that prefix.
 */
export function forkWorker(
  spec: SpawnSpec,
  slot: number,
  prefix?: (worker: { id: number; slot: number }) => string,
): Worker {
  cluster.setupPrimary({
    exec: spec.exec,
    args: spec.args,
    execArgv: spec.execArgv,
    cwd: spec.cwd,
    serialization: spec.serialization,
    silent: prefix !== undefined,
  });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.env)) if (value !== undefined) env[key] = value;
  env[SUPERVISED_ENV] = '1';
  env[SLOT_ENV] = String(slot);
  const worker = cluster.fork(env);
  if (prefix) {
    const text = prefix({ id: worker.id, slot });
    if (worker.process.stdout) pipePrefixed(worker.process.stdout, process.stdout, text);
    if (worker.process.stderr) pipePrefixed(worker.process.stderr, process.stderr, text);
  }
  return worker;
}

/** A start failure row for `member`, with how it exited and what it died of when known. */
export function startFailure(member: Member, reason: string): StartFailure {
  const failure: StartFailure = { slot: member.slot, id: member.id, pid: member.pid, reason };
  if (member.exit) {
    failure.code = member.exit.code;
    failure.signal = member.exit.signal;
  }
  if (member.fatal) failure.error = member.fatal;
  return failure;
}
