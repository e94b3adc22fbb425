/**
 * The supervisor: keeps `size` workers running in its slots (forks, crashes and respawns: see
 * `slots.ts`), waits for readiness on start, drains everything in parallel on shutdown, and
 * replaces workers one by one on reload. Owns the primary bus that talks to the workers.
 */
import cluster from 'node:cluster';
import { EventEmitter } from 'eventemitter3';
import { createPrimaryBus, type PrimaryBus, type WorkerInfo } from '../bus/primary-bus.js';
import { DEFAULT_TIMEOUT } from '../call.js';
import type { CallArgs, CallOutput, Contract, WorkerProcedures } from '../contract.js';
import { ClosedError } from '../errors.js';
import type { Fleet } from '../fleet/fleet.js';
import { type ResolvedFleetOptions, resolveFleetOptions } from '../fleet/options.js';
import { startFleet } from '../fleet/start.js';
import type { RunOptions } from '../pool/options.js';
import { TaskPool } from '../pool/pool.js';
import type { PoolStats } from '../pool/stats.js';
import { ClusterStartError, ReloadError, ScaleError, type StartFailure } from './errors.js';
import type {
  LiveWorkerStatus,
  ReloadResult,
  ScaleResult,
  ShutdownResult,
  SupervisorEvents,
  WorkerStatus,
} from './events.js';
import { attachLog } from './log.js';
import { describeExit, type Member, startFailure } from './member.js';
import { MetricsSampler } from './metrics.js';
import {
  type ReloadOptions,
  type ResolvedClusterOptions,
  resolveClusterOptions,
  resolveReloadOptions,
  type ShutdownOptions,
  type StartClusterOptions,
} from './options.js';
import { type ReloadHost, rollingReload } from './reload.js';
import { scaleSlots } from './scale.js';
import { installSignals } from './signals.js';
import { WorkerSlots } from './slots.js';
import { Turns } from './turns.js';

/**
 * A supervised cluster. Create and start it with {@link startCluster}; listen to its typed
 * events ({@link SupervisorEvents}) for every transition.
 */
export class Supervisor<C extends Contract = Contract> extends EventEmitter<SupervisorEvents> {
  readonly #options: ResolvedClusterOptions;
  readonly #bus: PrimaryBus<C>;
  readonly #pool: TaskPool<C>;
  readonly #slots: WorkerSlots;
  readonly #stopWatching: () => void;
  readonly #reloadHost: ReloadHost;
  #starting: Promise<this> | undefined;
  #started = false;
  #closing = false;
  #shutdown: Promise<ShutdownResult> | undefined;
  /** Reloads and scales, one at a time. */
  readonly #turns: Turns;
  readonly #sampler: MetricsSampler;
  /** Workers whose bus said in its hello that it answers the status sampler. */
  readonly #sampled = new Set<number>();
  readonly #stopControl: () => void;
  readonly #stopLog: (() => void) | undefined;
  #removeSignals: (() => void) | undefined;
  /** Shutdown signals received so far: the second one kills without waiting. */
  #shutdownSignals = 0;
  // Fleet mode (fleet/): joined once the workers are ready, left first on shutdown.
  readonly #fleetOptions: ResolvedFleetOptions | undefined;
  #fleet: Fleet<C> | undefined;

  /**
   * Checks the options and creates the primary bus; forks nothing until {@link start}.
   * @throws TypeError / RangeError naming a bad option; TypeError when this process is a worker.
   */
  constructor(options: StartClusterOptions<C>) {
    super();
    if (!cluster.isPrimary) {
      throw new TypeError(
        'startCluster(): this process is a cluster worker; start the cluster in the primary only',
      );
    }
    this.#options = resolveClusterOptions(options);
    this.#fleetOptions = options.fleet === undefined ? undefined : resolveFleetOptions(options.fleet);
    this.#bus = createPrimaryBus(options.contract, {
      handlers: options.handlers,
      timeout: this.#options.timeout,
      maxPendingSends: this.#options.maxPendingSends,
      // Only the workers this supervisor forks are its members.
      autoAttach: false,
    });
    // A reload's replacement gets pool tasks only once it passed its probation and serves its slot:
    // if it dies in probation, no task is lost with it.
    this.#pool = new TaskPool(
      this.#bus,
      { timeout: this.#options.timeout, ...options.pool },
      { accept: (id) => this.#slots.serving(id) },
    );
    this.#slots = this.#createSlots();
    this.#stopWatching = this.#bus.watchWorkers((info) => this.#onBusChange(info));
    this.#reloadHost = this.#createReloadHost();
    const supervisor = this;
    this.#turns = new Turns({
      reload: (options) => this.#runReload(options),
      scale: (size) => this.#runScale(size),
      get closing() {
        return supervisor.#closing;
      },
    });
    this.#sampler = new MetricsSampler(
      {
        workers: () =>
          this.#slots.members().map((m) => ({ id: m.id, pid: m.pid, answers: this.#sampled.has(m.id) })),
        ask: (id) => this.#bus.sendControl(id, 'metrics').catch(() => {}),
      },
      this.#options.sampleInterval,
    );
    this.#stopControl = this.#bus.onControl((id, message) => {
      if (message.c === 'hello') {
        if ((message.d as { metrics?: unknown } | undefined)?.metrics === 1) this.#sampled.add(id);
      } else if (message.c === 'metrics') {
        this.#sampler.report(id, message.d);
      } else if (message.c === 'fatal') {
        const member = this.#slots.member(id);
        if (member) member.fatal = describeFatal(message.d);
      }
    });
    this.on('workerExit', (exit) => {
      this.#sampled.delete(exit.id);
      this.#sampler.forget(exit.id);
    });
    this.#stopLog = this.#options.logger ? attachLog(this, this.#options.logger) : undefined;
  }

  /**
   * The primary bus: `call`, `callAll`, `broadcast`, … to the workers. The task pool routes over
   * it too (it picks among `bus.readyWorkerIds()`).
   */
  get bus(): PrimaryBus<C> {
    return this.#bus;
  }

  /**
   * Runs `method` on the ready worker with the fewest tasks in flight (ties round-robin), queueing
   * when all are busy. Results and errors are those of `bus.call`, plus OVERLOADED (queue full),
   * NOT_READY (no ready worker within the timeout) and CLOSED (shutting down). Draining and
   * reloading workers get no new tasks; queued tasks flow to the replacements.
   */
  run<M extends keyof WorkerProcedures<C> & string>(
    method: M,
    ...args: CallArgs<WorkerProcedures<C>[M], RunOptions>
  ): Promise<CallOutput<WorkerProcedures<C>[M]>> {
    return this.#pool.run(method, ...args);
  }

  /**
   * This host in the fleet: `hosts()`, `call({ host, id }, …)`, `callAll`, `broadcast`, `run`.
   * @throws TypeError when the cluster was started without `fleet`.
   */
  get fleet(): Fleet<C> {
    if (!this.#fleet) {
      throw new TypeError(
        this.#fleetOptions
          ? 'cluster.fleet: the fleet is joined once start() resolved (or it was left on shutdown)'
          : 'cluster.fleet: fleet mode is off; start the cluster with startCluster({ fleet: { servers, host, app } })',
      );
    }
    return this.#fleet;
  }

  /** The task pool behind {@link run}: `needsDrain`, `onDrain()`, its `'drain'`/`'retry'` events. */
  get pool(): TaskPool<C> {
    return this.#pool;
  }

  /** The task pool's figures: queued, running, completed, failed, run- and wait-time percentiles. */
  stats(): PoolStats {
    return this.#pool.stats();
  }

  /** How many slots the cluster keeps filled (a `scale()` changes it at once). */
  get size(): number {
    return this.#slots.size;
  }

  /** True once a shutdown began. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Slots that spent their crash budget and are not respawned until the next reload. */
  crashLoopedSlots(): number[] {
    return this.#slots.crashLooped();
  }

  /**
   * One row per live worker, plus one `state: 'stopped'` row per slot a crash loop stopped
   * (copies), ordered by slot. CPU, memory and event-loop delay come from the sampler (every
   * `sampleInterval` ms; see the README's status columns).
   */
  status(): WorkerStatus[] {
    const rows: WorkerStatus[] = this.#slots.members().map((member) => this.#row(member));
    for (const stopped of this.#slots.stoppedSlots()) {
      rows.push({
        id: undefined,
        pid: undefined,
        slot: stopped.slot,
        state: 'stopped',
        startedAt: stopped.startedAt,
        uptime: 0,
        restarts: stopped.restarts,
        inFlight: 0,
        cpu: undefined,
        memory: undefined,
        eventLoopDelay: undefined,
      });
    }
    return rows.sort((a, b) => a.slot - b.slot || (a.startedAt ?? 0) - (b.startedAt ?? 0));
  }

  /**
   * Forks every slot and resolves once all said `ready()`. Rejects with {@link ClusterStartError}
   * (after stopping the workers it forked) when one exits or misses `readyTimeout`.
   */
  start(): Promise<this> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /**
   * Rolling reload: per slot, fork the replacement, wait for `ready()` and the probation, then
   * drain the old worker. Rejects with {@link ReloadError} when a replacement fails; the old
   * workers not yet replaced keep serving. A reload asked for while one runs is queued and
   * coalesced: every request made during a run shares one follow-up run, with their options
   * merged (later requests win field by field; `env` maps are merged).
   * @throws TypeError / RangeError for bad options (synchronously).
   */
  reload(options?: ReloadOptions): Promise<ReloadResult> {
    resolveReloadOptions(options, this.#options); // eager validation
    const refused = this.#refuse('reload()');
    if (refused) return Promise.reject(refused);
    return this.#turns.reload(options);
  }

  /**
   * Grows or shrinks the cluster to `size` slots while it serves. Growing forks the new slots'
   * workers and resolves once they are ready (they take work as soon as they are); shrinking
   * removes the highest slots (the ones added last) at once — the pool and `status()` stop using
   * them immediately — and drains their workers gracefully. Takes turns with reloads: a scale asked
   * for while a reload or another scale runs waits for it, and scales waiting together coalesce
   * (the last size asked for wins; every caller gets that run's result). Rejects with
   * {@link ScaleError} when a new worker does not become ready (its slot stays and is respawned).
   * @throws RangeError for a size that is not an integer >= 1 (synchronously).
   */
  scale(size: number): Promise<ScaleResult> {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
      throw new RangeError(`scale(size): size must be an integer >= 1, got ${String(size)}`);
    }
    const refused = this.#refuse('scale()');
    if (refused) return Promise.reject(refused);
    return this.#turns.scale(size);
  }

  #refuse(what: string): Error | undefined {
    if (this.#closing) return new ClosedError(`${what}: the cluster is shutting down`);
    if (!this.#started) return new ClosedError(`${what}: the cluster has not started; await start() first`);
    return undefined;
  }

  /**
   * Graceful shutdown: stop respawning, tell every worker to drain in parallel under one deadline
   * (`onShutdown` hooks, in-flight calls), SIGKILL the stragglers at the deadline, close the bus.
   * Idempotent: later calls return the first call's promise. Never rejects.
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    const timeout = options.timeout ?? this.#options.drainTimeout;
    if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0 || !Number.isFinite(timeout)) {
      throw new RangeError(
        `shutdown options: timeout must be a finite number of ms >= 0, got ${String(timeout)}`,
      );
    }
    const reason = options.reason ?? 'shutdown';
    if (typeof reason !== 'string') {
      throw new TypeError(`shutdown options: reason must be a string, got ${String(reason)}`);
    }
    this.#shutdown ??= this.#runShutdown(timeout, reason);
    return this.#shutdown;
  }

  // ---- start ---------------------------------------------------------------------------------

  async #start(): Promise<this> {
    if (this.#closing) throw new ClosedError('start(): the cluster was shut down');
    const started = performance.now();
    // Before forking: a Ctrl-C while the workers boot must drain them, not kill the primary outright.
    const signals = this.#options.signals;
    if (signals) {
      this.#removeSignals = installSignals(signals, {
        shutdown: (signal) => this.#onShutdownSignal(signal, signals.exit),
        reload: () => {
          if (!this.#started) return; // nothing to reload yet
          // The outcome is reported by the reloadDone / reloadFailed events.
          this.reload().catch(() => {});
        },
      });
    }
    const members = this.#slots.launchAll();
    const outcomes = await Promise.allSettled(members.map((m) => m.whenReady(this.#options.readyTimeout)));
    const failures: StartFailure[] = [];
    for (const [i, outcome] of outcomes.entries()) {
      const member = members[i]!;
      const reason =
        outcome.status === 'rejected'
          ? (outcome.reason as Error).message
          : member.exit
            ? `${member.name} ${describeExit(member.exit)} while the others were starting`
            : undefined;
      if (reason) failures.push(startFailure(member, reason));
    }
    if (failures.length > 0 || this.#closing) {
      // A shutdown asked for during start (shutdown() or a signal) explains the exits itself:
      // blaming the worker script would send the user looking in the wrong place.
      const stoppedOnPurpose = this.#closing;
      await this.shutdown({ timeout: Math.min(this.#options.drainTimeout, 2_000), reason: 'start failed' });
      const list = failures.map((f) => `slot ${f.slot}: ${f.reason}`).join('; ');
      // Blame ready() only when a worker stayed alive without calling it; an exit is the script's.
      const hint = failures.some((f) => f.code === undefined && f.signal === undefined)
        ? 'check the worker script and that it calls bus.ready() once it can serve'
        : 'check the worker script (its stderr says more)';
      const error = new ClusterStartError(
        stoppedOnPurpose
          ? 'startCluster(): the cluster was shut down while starting (shutdown() or a signal arrived before every worker was ready)'
          : `startCluster(): ${failures.length} of ${members.length} workers failed to start (${list}); ${hint}`,
        failures,
      );
      this.#options.logger?.error(error.message, { failures });
      throw error;
    }
    if (this.#fleetOptions) {
      const options = this.#fleetOptions;
      const member = {
        bus: this.#bus,
        pool: this.#pool,
        contract: this.#bus.contract,
        timeout: this.#options.timeout ?? DEFAULT_TIMEOUT,
      };
      try {
        this.#fleet = await startFleet(member, options);
      } catch (error) {
        await this.shutdown({ timeout: Math.min(this.#options.drainTimeout, 2_000), reason: 'start failed' });
        throw error;
      }
    }
    this.#started = true;
    this.#sampler.start();
    this.#options.logger?.info(
      `started ${members.length} worker${members.length === 1 ? '' : 's'} (pids ${members.map((m) => m.pid).join(', ')}) in ${Math.round(performance.now() - started)} ms`,
      { size: members.length, pids: members.map((m) => m.pid) },
    );
    return this;
  }

  // ---- scale ---------------------------------------------------------------------------------

  #runScale(size: number): Promise<ScaleResult> {
    return scaleSlots(
      {
        slots: this.#slots,
        options: this.#options,
        refreshPool: () => this.#pool.refresh(),
        retire: (member, timeout, reason) => this.#retire(member, timeout, reason),
        emitScaled: (result) => this.emit('scaled', result),
      },
      size,
    );
  }

  // ---- members -------------------------------------------------------------------------------

  #createSlots(): WorkerSlots {
    const supervisor = this;
    return new WorkerSlots(this.#options, {
      events: this,
      get closing() {
        return supervisor.#closing;
      },
      get started() {
        return supervisor.#started;
      },
      attach: (worker) => this.#bus.attach(worker),
      row: (member) => this.#row(member),
    });
  }

  #onBusChange(info: WorkerInfo): void {
    const member = this.#slots.member(info.id);
    if (member && info.state === 'ready' && member.markReady()) this.emit('workerReady', this.#row(member));
  }

  /**
   * Drains one worker under `timeout`; SIGKILL after it. Resolves true when it exited on its own
   * (an exit code, not a signal) in time; false when it was killed, by us or anyone else.
   */
  async #retire(member: Member, timeout: number, reason: string): Promise<boolean> {
    if (!member.alive) return member.exit?.signal === null;
    if (member.markDraining()) this.emit('workerDraining', this.#row(member));
    // The worker's own deadline comes a little earlier than the SIGKILL, so a hook that honours
    // ctx.signal still has time to give up, flush and exit cleanly.
    const workerTimeout = timeout - Math.min(1_000, Math.floor(timeout / 10));
    this.#bus.drain(member.id, { reason, timeout: workerTimeout }).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      member.exited.then((exit) => exit.signal === null),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (inTime) return true;
    member.kill();
    await member.exited;
    return false;
  }

  #row(member: Member): LiveWorkerStatus {
    return {
      id: member.id,
      pid: member.pid,
      slot: member.slot,
      state: member.state,
      startedAt: member.startedAt,
      uptime: Date.now() - member.startedAt,
      restarts: member.restarts,
      inFlight: this.#bus.worker(member.id)?.inFlight ?? 0,
      ...this.#sampler.read(member.id),
    };
  }

  // ---- reload --------------------------------------------------------------------------------

  #runReload(options: ReloadOptions | undefined): Promise<ReloadResult> {
    let plan: ReturnType<typeof resolveReloadOptions>;
    try {
      plan = resolveReloadOptions(options, this.#options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.emit('reloadStart', {
      slots: this.#slots.indexes().length,
      parallel: plan.parallel,
      canary: plan.canary,
    });
    return rollingReload(this.#reloadHost, plan).then(
      (result) => {
        this.#options.spec = plan.spec;
        this.emit('reloadDone', result);
        return result;
      },
      (error: unknown) => {
        const failure =
          error instanceof ReloadError
            ? error
            : new ReloadError(`reload failed: ${(error as Error)?.message}`, {
                cause: error,
                replaced: [],
              });
        this.emit('reloadFailed', failure);
        throw failure;
      },
    );
  }

  #createReloadHost(): ReloadHost {
    const supervisor = this;
    return {
      slots: () => this.#slots.indexes(),
      get closing() {
        return supervisor.#closing;
      },
      forkReplacement: (index, spec) => {
        if (this.#closing) throw new ClosedError('the cluster began shutting down');
        return this.#slots.forkInto(index, spec);
      },
      adopt: (index, member, spec) => {
        const old = this.#slots.adopt(index, member, spec);
        this.#pool.refresh();
        return old;
      },
      retire: (member, timeout, reason) => this.#retire(member, timeout, reason),
      discard: async (member) => {
        // A shutdown that began during the probation drains the replacement along with every
        // other worker (its in-flight calls finish); killing it here would cut that drain short.
        if (member.state === 'draining') return;
        member.planned = true;
        member.kill();
        await member.exited;
      },
      emitStep: (step) => this.emit('reloadStep', step),
    };
  }

  // ---- shutdown ------------------------------------------------------------------------------

  async #runShutdown(timeout: number, reason: string): Promise<ShutdownResult> {
    const started = performance.now();
    this.#closing = true;
    // Fleet first: stop taking work from other hosts and finish what they sent, while the workers serve.
    if (this.#fleet) await this.#fleet.leave();
    // Queued tasks fail with CLOSED now rather than waiting out their deadline; running ones drain.
    this.#pool.close();
    this.#slots.cancelRespawns();
    this.emit('shutdownStart', { reason, timeout });
    const drained: number[] = [];
    const killed: number[] = [];
    // One deadline for all: every worker drains at the same time.
    await Promise.all(
      this.#slots.members().map(async (member) => {
        ((await this.#retire(member, timeout, reason)) ? drained : killed).push(member.id);
      }),
    );
    await this.#turns.close();
    this.#sampler.stop();
    this.#removeSignals?.();
    this.#stopWatching();
    this.#stopControl();
    this.#bus.close();
    const result: ShutdownResult = {
      graceful: killed.length === 0,
      drained: drained.sort((a, b) => a - b),
      killed: killed.sort((a, b) => a - b),
      durationMs: Math.round(performance.now() - started),
    };
    this.emit('shutdownDone', result);
    this.#stopLog?.();
    return result;
  }

  #onShutdownSignal(signal: NodeJS.Signals, exit: boolean): void {
    this.#shutdownSignals++;
    if (this.#shutdownSignals > 1) {
      // A second Ctrl-C: the user does not want to wait for the deadline.
      for (const member of this.#slots.members()) member.kill();
      return;
    }
    // A shutdown() already running (started in code) is joined, not restarted.
    this.shutdown({ reason: signal }).then(
      (result) => {
        if (exit) process.exit(result.graceful ? 0 : 1);
      },
      () => {
        if (exit) process.exit(1);
      },
    );
  }
}

/**
 * Forks `size` workers running `exec`, wires the primary bus to them, and resolves once every
 * worker called `ready()`. Rejects with {@link ClusterStartError} (after stopping what it forked)
 * when a worker exits or misses `readyTimeout`.
 * @throws TypeError / RangeError for bad options (synchronously, as a rejected promise).
 */
export function startCluster<C extends Contract>(options: StartClusterOptions<C>): Promise<Supervisor<C>> {
  try {
    return new Supervisor(options).start();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `TypeError: boom` from a worker's `fatal` report (wire data: checked and bounded). */
function describeFatal(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as { name?: unknown; message?: unknown; code?: unknown };
  const name = typeof d.name === 'string' ? d.name.slice(0, 100) : 'Error';
  const message = typeof d.message === 'string' ? d.message.slice(0, 500) : '';
  const code = typeof d.code === 'string' ? ` [${d.code.slice(0, 50)}]` : '';
  return `${name}${code}: ${message}`;
}
