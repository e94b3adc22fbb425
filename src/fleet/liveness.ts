/**
 * Failure detection (DESIGN trap 13): NATS neither fails a request whose responder died nor sees a
 * hung client for a long time, so every host publishes a heartbeat every `heartbeat` ms and every
 * host watches the others'. A host silent for `missedHeartbeats` beats is gone; one late by half a
 * beat is probed, and no responders to the probe means its connection is gone already (killed).
 */
import type { NatsConnectionLike, NatsMsgLike, NatsSubscriptionLike } from '../transports/nats.js';
import { guarded, subscribeGuarded } from './guard.js';
import { type Heartbeat, type HostInfo, type HostTable, parseHeartbeat } from './hosts.js';
import type { FleetSubjects } from './subjects.js';

/** What liveness needs from the fleet. */
export interface LivenessOptions {
  nc: NatsConnectionLike;
  subjects: FleetSubjects;
  host: string;
  instance: string;
  heartbeat: number;
  missedHeartbeats: number;
  table: HostTable;
  /** This host's row, for its heartbeat. */
  self(): HostInfo;
  /** False while the NATS connection is down or this host left. */
  watching(): boolean;
  /** A host is gone. */
  drop(host: string, reason: string): void;
  /** A host was heard for the first time, or restarted. */
  arrived(info: HostInfo, restarted: boolean): void;
  /** Something malformed arrived. */
  report(message: string): void;
  /** Runs after every heartbeat (the pool re-checks its room). */
  tick(): void;
}

const decoder = new TextDecoder();

/** Publishes this host's heartbeats and watches the others'. */
export class Liveness {
  readonly #options: LivenessOptions;
  readonly #subs: NatsSubscriptionLike[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #probing = new Set<string>();
  // Monotonic: a wall-clock step (NTP) must neither drop every host nor hide a dead one.
  #lastSweep = performance.now();
  #stopped = false;

  constructor(options: LivenessOptions) {
    this.#options = options;
    const { nc, subjects, host, heartbeat } = options;
    this.#subs.push(
      subscribeGuarded(nc, subjects.heartbeatAll, (msg) => this.#onHeartbeat(msg)),
      subscribeGuarded(nc, subjects.ping(host), (msg) => msg.respond(new Uint8Array())),
    );
    const beat = setInterval(() => guarded('the fleet heartbeat timer', () => this.beat()), heartbeat);
    const sweep = setInterval(
      () => guarded('the fleet liveness sweep', () => this.#sweep()),
      Math.max(10, Math.floor(heartbeat / 4)),
    );
    beat.unref();
    sweep.unref();
    this.#timers.push(beat, sweep);
  }

  /** Publishes one heartbeat now (also on a state change, so others learn of it at once). */
  beat(): void {
    if (this.#stopped) return;
    const self = this.#options.self();
    const beat: Heartbeat = { i: this.#options.instance, s: self.state, w: self.workers, c: self.capacity };
    try {
      this.#options.nc.publish(this.#options.subjects.heartbeat(this.#options.host), JSON.stringify(beat));
    } catch {
      // Closed or draining: the fleet's status watcher deals with it.
    }
    this.#options.tick();
  }

  /** The last heartbeat of a graceful leave: the others drop this host at once. */
  goodbye(): void {
    if (this.#stopped) return;
    const beat: Heartbeat = { i: this.#options.instance, s: 'gone', w: 0, c: 0 };
    try {
      this.#options.nc.publish(this.#options.subjects.heartbeat(this.#options.host), JSON.stringify(beat));
    } catch {
      // Closed already: the others will notice the silence instead.
    }
  }

  /** The connection is back: start counting silence afresh. */
  reconnected(): void {
    this.#lastSweep = performance.now();
    this.beat();
  }

  /** Stops the timers and the subscriptions. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const sub of this.#subs) sub.unsubscribe();
  }

  #onHeartbeat(msg: NatsMsgLike): void {
    const host = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    const beat = parseHeartbeat(decoder.decode(msg.data));
    if (!beat) {
      this.#options.report(`dropped a malformed heartbeat on ${msg.subject}`);
      return;
    }
    if (host === this.#options.host) {
      if (beat.i !== this.#options.instance) {
        this.#options.report(
          `another process uses the fleet host name "${host}"; give every host a unique fleet.host`,
        );
      }
      return;
    }
    if (beat.s === 'gone') {
      if (this.#options.table.get(host)?.instance === beat.i) {
        this.#options.drop(host, `host ${host} left the fleet`);
      }
      return;
    }
    const change = this.#options.table.update(host, { ...beat, s: beat.s });
    if (change === 'new' || change === 'restarted') {
      this.#options.arrived(this.#options.table.get(host)!, change === 'restarted');
    }
  }

  #sweep(): void {
    const now = performance.now();
    const late = now - this.#lastSweep;
    this.#lastSweep = now;
    const { heartbeat, missedHeartbeats, table } = this.#options;
    if (this.#stopped || !this.#options.watching()) return;
    // This process itself was stalled (a long GC, SIGSTOP): the others' heartbeats are still in
    // the socket, so their silence proves nothing yet.
    if (late > heartbeat) return;
    for (const { host, silentFor } of table.silent(heartbeat * missedHeartbeats, now)) {
      this.#options.drop(
        host,
        `host ${host} missed ${missedHeartbeats} heartbeats (silent for ${silentFor} ms)`,
      );
    }
    for (const { host } of table.silent(heartbeat * 1.5, now)) this.#probe(host);
  }

  #probe(host: string): void {
    if (this.#probing.has(host)) return;
    this.#probing.add(host);
    const { nc, subjects, heartbeat, missedHeartbeats } = this.#options;
    nc.request(subjects.ping(host), new Uint8Array(), { timeout: heartbeat * missedHeartbeats })
      .then(
        () => {},
        (error: Error & { isNoResponders?: () => boolean }) =>
          guarded(`the liveness probe of host ${host}`, () => {
            const noResponders =
              error?.isNoResponders?.() || /no responders/i.test(`${error?.name} ${error?.message}`);
            if (noResponders && this.#options.watching()) {
              this.#options.drop(
                host,
                `host ${host} has no subscription on NATS any more (its process or its connection is gone)`,
              );
            }
          }),
      )
      .finally(() => this.#probing.delete(host));
  }
}
