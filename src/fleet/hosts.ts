/**
 * The fleet's view of its hosts, fed by heartbeats: who is up, how many ready workers and how much
 * free pool capacity each has, and when it was last heard. Decides nothing about peers: the fleet
 * acts on what {@link HostTable.update} and {@link HostTable.silent} report.
 */
import { AbortedError, TimeoutError } from '../errors.js';
import { isSubjectToken } from './subjects.js';

/** Where a host is in its life, as its heartbeats say. */
export type HostState = 'up' | 'leaving';

/** A read-only snapshot of one host of the fleet. */
export interface HostInfo {
  /** The host's name (`fleet.host`). */
  host: string;
  /** A new id each time the host's primary starts: a change means it restarted. */
  instance: string;
  /** `leaving` once it began a graceful shutdown: it takes no new fleet work. */
  state: HostState;
  /** Its ready workers. */
  workers: number;
  /** Pool places free for `run()` tasks (ready workers × concurrency − running − queued). */
  capacity: number;
  /**
   * When its last heartbeat arrived (ms since epoch, for display); now for this host itself.
   * Liveness does not use it: the wall clock jumps (NTP) and silence is measured on a monotonic one.
   */
  lastHeard: number;
  /** True for the host this fleet object runs on. */
  self: boolean;
}

/** What a heartbeat carries. `gone` is the last one of a host that left gracefully. */
export interface Heartbeat {
  i: string;
  s: HostState | 'gone';
  w: number;
  c: number;
}

/** Reads a heartbeat payload; `undefined` when it is not one (never throws). */
export function parseHeartbeat(text: string): Heartbeat | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const beat = value as Partial<Heartbeat> | null;
  if (
    typeof beat !== 'object' ||
    beat === null ||
    !isSubjectToken(beat.i) ||
    (beat.s !== 'up' && beat.s !== 'leaving' && beat.s !== 'gone') ||
    !Number.isInteger(beat.w) ||
    !Number.isInteger(beat.c)
  ) {
    return undefined;
  }
  return beat as Heartbeat;
}

/** What {@link HostTable.update} saw. */
export type HostChange = 'new' | 'restarted' | 'changed' | 'same';

interface Waiter {
  count: number;
  resolve(hosts: HostInfo[]): void;
  reject(error: Error): void;
}

/** A remote host's row, and when it was heard on the monotonic clock (`performance.now()`). */
interface Entry {
  info: HostInfo;
  heardAt: number;
}

/** A host {@link HostTable.silent} found, and for how long it has been silent (ms). */
export interface SilentHost {
  host: string;
  silentFor: number;
}

/** The remote hosts heard from, and the waiters of {@link HostTable.waitFor}. */
export class HostTable {
  readonly #hosts = new Map<string, Entry>();
  readonly #waiters = new Set<Waiter>();
  #closedWith: Error | undefined;
  readonly #self: () => HostInfo;

  /** @param self This host's own row (always counted as up). */
  constructor(self: () => HostInfo) {
    this.#self = self;
  }

  /** Records a heartbeat from `host` (not a `gone` one: the host is removed for that). */
  update(host: string, beat: Heartbeat & { s: HostState }): HostChange {
    const old = this.#hosts.get(host)?.info;
    const info: HostInfo = {
      host,
      instance: beat.i,
      state: beat.s,
      workers: beat.w,
      capacity: beat.c,
      lastHeard: Date.now(),
      self: false,
    };
    this.#hosts.set(host, { info, heardAt: performance.now() });
    const change: HostChange = !old
      ? 'new'
      : old.instance !== beat.i
        ? 'restarted'
        : old.state !== beat.s || old.workers !== beat.w
          ? 'changed'
          : 'same';
    if (change !== 'same') this.#wake();
    return change;
  }

  /** The remote host's row, if it is known. */
  get(host: string): HostInfo | undefined {
    return this.#hosts.get(host)?.info;
  }

  /** Forgets a host (gone, or the connection dropped). */
  remove(host: string): void {
    this.#hosts.delete(host);
  }

  /** Remote hosts (copies). */
  remotes(): HostInfo[] {
    return [...this.#hosts.values()].map(({ info }) => ({ ...info }));
  }

  /** Every host, this one first (copies). */
  all(): HostInfo[] {
    return [this.#self(), ...this.remotes()];
  }

  /** Remote hosts silent for more than `ms`; `now` is a `performance.now()` reading. */
  silent(ms: number, now = performance.now()): SilentHost[] {
    const silent: SilentHost[] = [];
    for (const [host, { heardAt }] of this.#hosts) {
      if (now - heardAt > ms) silent.push({ host, silentFor: Math.round(now - heardAt) });
    }
    return silent;
  }

  /**
   * Resolves with every host once `count` hosts (this one included) are up. Rejects with TIMEOUT
   * after `timeout` ms (0 or Infinity: never) or ABORTED.
   */
  waitFor(count: number, timeout: number, signal?: AbortSignal): Promise<HostInfo[]> {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`waitForHosts(count): count must be a positive integer, got ${String(count)}`);
    }
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const up = () => this.all().filter((info) => info.state === 'up');
    if (up().length >= count) return Promise.resolve(this.all());
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        this.#waiters.delete(waiter);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        count,
        resolve: (hosts) => {
          done();
          resolve(hosts);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = () => {
        done();
        reject(new AbortedError(`waitForHosts(${count}) was aborted`, { cause: signal?.reason }));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout > 0 && timeout !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(() => {
          done();
          reject(
            new TimeoutError(
              `waitForHosts(${count}) timed out after ${timeout} ms with ${up().length} host(s) up (${up()
                .map((h) => h.host)
                .join(', ')}); check that every host uses the same NATS servers and fleet.app`,
            ),
          );
        }, timeout);
        timer.unref();
      }
      this.#waiters.add(waiter);
    });
  }

  /** This host left the fleet: every waiter rejects with `error`, and so does every later wait. */
  close(error: Error): void {
    this.#closedWith = error;
    for (const waiter of [...this.#waiters]) waiter.reject(error);
  }

  #wake(): void {
    const up = this.all().filter((info) => info.state === 'up').length;
    for (const waiter of [...this.#waiters]) if (up >= waiter.count) waiter.resolve(this.all());
  }
}
