/**
 * Zero-code mode, worker side: makes an app that knows nothing of clusterbus a well-behaved
 * supervised worker. It finds the app's HTTP servers, tells the primary the worker is ready (once
 * they listen, on PM2's `process.send('ready')`, or at once), and drains the servers when the
 * primary says so (shutdown, reload) before the worker exits.
 *
 * An app that creates its own worker bus keeps full control: its bus's hello is seen on the way
 * out, and from then on this module creates no bus and signals nothing.
 */
import { createWorkerBus, type WorkerBus } from '../bus/worker-bus.js';
import { type Contract, defineContract } from '../contract.js';
import { watchOutgoing } from './ipc-watch.js';
import { ServerTracker } from './servers.js';
import type { AutoSettings } from './settings.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** Used when the primary sent no drain deadline. */
const DEFAULT_DRAIN_MS = 10_000;

/** The zero-code side of one worker. */
export class ZeroCodeWorker {
  readonly #settings: AutoSettings;
  readonly #tracker = new ServerTracker();
  readonly #ignore = () => {};
  #bus: WorkerBus<Contract> | undefined;
  /** The instance id of our own bus's hello, so its later hellos are not taken for the app's. */
  #ownInstance: unknown;
  /**
   * Our bus was created and its hello has not gone out yet. Its hello is the next one out: the
   * transport writes at the end of the turn, in order, and any bus the app made before ours would
   * have said hello in an earlier turn (the ready checks run a turn after the app's code).
   */
  #awaitingOwnHello = false;
  #appBus = false;
  #unwatch: (() => void) | undefined;

  constructor(settings: AutoSettings) {
    this.#settings = settings;
  }

  /** True once the app's own worker bus was seen. */
  get appOwnsBus(): boolean {
    return this.#appBus;
  }

  /** Starts watching. Runs in the preload, before any app code. */
  start(): void {
    // Until a bus exists, a Ctrl-C reaching the whole process group must not kill the worker
    // before the primary drains it (the bus's own lifecycle takes this over once it exists).
    for (const signal of SIGNALS) process.on(signal, this.#ignore);
    this.#tracker.install();
    this.#unwatch = watchOutgoing({
      hello: (instance) => this.#onHello(instance),
      ready: () => {
        // A turn later: a bus the app made just before must say hello first (and win).
        if (this.#settings.ready === 'message') setImmediate(() => this.#ready());
      },
    });
    if (this.#settings.ready === 'listen') this.#tracker.onAllListening(() => this.#ready());
    // A turn later, a CommonJS app's top level has run. (`start` is for apps without a bus of
    // their own: an ES module entry may still be loading then.)
    if (this.#settings.ready === 'start') setImmediate(() => this.#ready());
  }

  #onHello(instance: unknown): void {
    if (this.#awaitingOwnHello) {
      this.#awaitingOwnHello = false;
      this.#ownInstance = instance;
      return;
    }
    if (this.#bus && instance === this.#ownInstance) return;
    if (this.#bus) {
      process.emitWarning(
        'clusterbus: the app created its own worker bus after zero-code mode had already signalled ready for it; create the bus before the server listens, or start with --ready message',
      );
      return;
    }
    if (this.#appBus) return;
    this.#appBus = true;
    this.#stopIgnoringSignals();
    this.#unwatch?.();
  }

  #ready(): void {
    if (this.#appBus) return;
    this.#bus ??= this.#createBus();
    void this.#bus.ready();
  }

  #createBus(): WorkerBus<Contract> {
    this.#awaitingOwnHello = true;
    const bus = createWorkerBus(defineContract({}));
    this.#stopIgnoringSignals();
    // Reported, not thrown: a failed ready() is retried by the next "all listening".
    bus.on('error', (error) => process.emitWarning(`clusterbus: ${error.message}`));
    bus.onShutdown(async (ctx) => {
      await this.#tracker.drainAll({
        timeout: ctx.timeout > 0 ? ctx.timeout : DEFAULT_DRAIN_MS,
        idleGrace: this.#settings.idleGrace,
      });
    });
    return bus;
  }

  #stopIgnoringSignals(): void {
    for (const signal of SIGNALS) process.off(signal, this.#ignore);
  }
}
