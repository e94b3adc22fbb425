/**
 * What a worker bus does about who runs it (`worker-parent.ts` finds out who): whether a clusterbus
 * primary answers, and what calls, events and `ready()` do when none does. Without an IPC channel
 * the bus is standalone at once; under PM2 it goes standalone unless a primary says hello within
 * `helloTimeout`; under any other IPC parent `ready()` gets that deadline, after which calls and
 * events fail fast with NO_PRIMARY until a late primary says hello.
 *
 * Its own module because this is a decision made once per process with timers of its own, and the
 * bus's methods need only ask it one question before sending (`noPrimary`).
 */
import { assertTimeout } from '../call.js';
import { NoPrimaryError } from '../errors.js';
import type { Peer } from '../peer.js';
import { reportFatalErrors, tellPm2Ready, type WorkerParent } from './worker-parent.js';

/** Watches, for one worker bus, whether a clusterbus primary is on the other end of its channel. */
export class ParentWatch {
  /** Who runs this process; `clusterbus` for a custom transport (its other end is a bus). */
  readonly #parent: WorkerParent;
  readonly #peer: Peer;
  /** Set once it is known that no clusterbus primary answers: calls and events fail with it. */
  #noPrimary: NoPrimaryError | undefined;
  /** Rejects `ready()` when no clusterbus primary answers in time (an `ipc` parent). */
  #helloWait: Promise<void> | undefined;

  /**
   * Sets up what depends on who runs this process: standalone at once without IPC; under PM2
   * standalone unless a clusterbus primary answers within `helloTimeout`; for any other IPC parent
   * a deadline for `ready()`. Workers with a primary report a fatal error before they die.
   * `isClosed` tells whether the bus was closed meanwhile (then a late verdict changes nothing).
   */
  constructor(
    parent: WorkerParent,
    peer: Peer,
    helloTimeout: number | undefined,
    ownsProcess: boolean,
    isClosed: () => boolean,
  ) {
    this.#parent = parent;
    this.#peer = peer;
    if (ownsProcess && parent !== 'none' && parent !== 'pm2') reportFatalErrors();
    if (parent === 'clusterbus') return;
    if (parent === 'none') {
      this.#goStandalone(
        'this process has no IPC channel (it runs as plain `node`, under docker, systemd, …)',
      );
      return;
    }
    const wait = helloTimeout ?? (parent === 'pm2' ? 1_000 : 10_000);
    assertTimeout(wait, 'createWorkerBus options: helloTimeout');
    if (parent === 'pm2') {
      setTimeout(() => {
        if (this.#peer.remoteHello === undefined && !isClosed()) {
          this.#goStandalone(`PM2 runs this worker, and no clusterbus primary answered within ${wait} ms`);
        }
      }, wait).unref();
      return;
    }
    this.#helloWait = new Promise<void>((_, reject) => {
      setTimeout(() => {
        const why = `no clusterbus primary answered within ${wait} ms: the parent process has an IPC channel but no clusterbus bus; create one with createPrimaryBus() or startCluster() there (or raise helloTimeout)`;
        // Calls and events fail fast from now on instead of each waiting out its timeout; a
        // primary that says hello later still gets this worker (and its held 'ready').
        if (this.#peer.remoteHello === undefined && !isClosed()) {
          this.#peer.refuseUntilHello(new NoPrimaryError(why));
        }
        reject(new NoPrimaryError(`ready(): ${why}`));
      }, wait).unref();
    });
    this.#helloWait.catch(() => {});
  }

  /** Set once the bus is standalone: no clusterbus primary runs this worker. */
  get noPrimary(): NoPrimaryError | undefined {
    return this.#noPrimary;
  }

  /** The typed refusal of `what` when no clusterbus primary runs this worker. */
  refuse(what: string): Promise<never> {
    const reason = this.#noPrimary!;
    return Promise.reject(new NoPrimaryError(`${what} failed: ${reason.message}`, { cause: reason }));
  }

  /** Under PM2 a call made before the verdict fails with NO_PRIMARY, like one made after it. */
  standaloneAware<T>(what: string, call: Promise<T>): Promise<T> {
    if (this.#parent !== 'pm2' || this.#peer.remoteHello !== undefined) return call;
    return call.catch((error: unknown) => {
      if (this.#noPrimary) return this.refuse(what);
      throw error;
    });
  }

  /**
   * Tells whoever runs this worker that it is ready, and settles when that is done: PM2 with its
   * own `'ready'` message, at once; standalone, at once (nobody to tell); otherwise once the
   * primary was sent `ready`, or with NO_PRIMARY when no primary answered within `helloTimeout`.
   */
  tellReady(): Promise<void> {
    if (this.#parent === 'pm2') tellPm2Ready();
    if (this.#noPrimary) return Promise.resolve(); // standalone: nobody to tell
    const sent = this.#peer.sendControl('ready');
    if (this.#parent === 'pm2') {
      // PM2 was told; a clusterbus primary that answers later still gets the held 'ready'.
      sent.catch(() => {});
      return Promise.resolve();
    }
    if (this.#helloWait && this.#peer.remoteHello === undefined) return Promise.race([sent, this.#helloWait]);
    return sent;
  }

  #goStandalone(why: string): void {
    this.#noPrimary = new NoPrimaryError(
      `no clusterbus primary: ${why}; calls and events to the primary are not possible here (start it with startCluster() to use them)`,
    );
    this.#peer.close(this.#noPrimary);
  }
}
