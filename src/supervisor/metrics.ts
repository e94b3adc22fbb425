/**
 * The status sampler: CPU, memory and event-loop delay of every worker, without the user's
 * contract. Every `interval` ms the primary
 * - reads the OS's figures of each worker process (`/proc/<pid>/stat` and `/proc/<pid>/status` on
 *   Linux): they come even from a worker stuck in synchronous code, and cost no IPC;
 * - asks each worker that announced the feature in its hello for a `metrics` control answer (heap
 *   used, event-loop delay p99, and its own CPU and RSS for systems without `/proc`).
 * A worker that does not answer is not waited for: its row keeps the OS figures, and its
 * event-loop delay becomes "silent for at least this long".
 */
import { readFileSync } from 'node:fs';

/** What a worker answers to the sampler (see `worker-metrics.ts`). */
export interface WorkerReport {
  rss: number;
  heapUsed: number;
  /** process.cpuUsage() user + system, in µs since the worker started. */
  cpuMicros: number;
  /** Event-loop delay p99 since its previous answer, in ms. */
  eventLoopDelay: number;
}

/** One row's sampled figures. */
export interface Sample {
  cpu: number | undefined;
  memory: { rss: number; heapUsed: number | undefined } | undefined;
  eventLoopDelay: number | undefined;
}

interface Track {
  pid: number | undefined;
  /** CPU time (ms) and wall time (ms) at the previous sample, from whichever source has it. */
  lastCpu: { cpuMs: number; at: number; source: 'os' | 'worker' } | undefined;
  cpu: number | undefined;
  rss: number | undefined;
  heapUsed: number | undefined;
  eventLoopDelay: number | undefined;
  /** When the oldest unanswered request was sent (ms since epoch); undefined when none is open. */
  askedAt: number | undefined;
}

/** Linux reports process CPU time in clock ticks; USER_HZ is 100 on every mainstream kernel. */
const CLOCK_TICKS_PER_SECOND = 100;

/** What the sampler needs from the supervisor. */
export interface SamplerHost {
  /** The live workers: id, pid, and whether the worker's bus answers `metrics` requests. */
  workers(): Array<{ id: number; pid: number | undefined; answers: boolean }>;
  /** Sends the `metrics` request to worker `id` (errors are ignored: a gone worker just has no row). */
  ask(id: number): void;
}

/** Samples every worker every `interval` ms on an unref'd timer. */
export class MetricsSampler {
  readonly #host: SamplerHost;
  readonly #interval: number;
  readonly #tracks = new Map<number, Track>();
  #timer: NodeJS.Timeout | undefined;
  #procAvailable = true;

  constructor(host: SamplerHost, interval: number) {
    this.#host = host;
    this.#interval = interval;
  }

  /** Starts sampling (a first sample at once, so CPU is known after one interval). */
  start(): void {
    if (this.#timer || this.#interval === 0) return;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#interval);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tracks.clear();
  }

  /** Forgets a worker that exited. */
  forget(id: number): void {
    this.#tracks.delete(id);
  }

  /** A worker answered the `metrics` request. `data` comes from the wire: checked field by field. */
  report(id: number, data: unknown): void {
    const track = this.#tracks.get(id);
    if (!track || typeof data !== 'object' || data === null) return;
    const d = data as Record<string, unknown>;
    track.askedAt = undefined;
    if (isCount(d.heapUsed)) track.heapUsed = d.heapUsed;
    if (isCount(d.eventLoopDelay)) track.eventLoopDelay = round1(d.eventLoopDelay);
    // Without /proc the worker's own view is all there is.
    if (!this.#procAvailable) {
      if (isCount(d.rss)) track.rss = d.rss;
      if (isCount(d.cpuMicros)) this.#cpuSample(track, d.cpuMicros / 1_000, 'worker');
    }
  }

  /** The figures of worker `id` for its status row. */
  read(id: number): Sample {
    const track = this.#tracks.get(id);
    if (!track) return { cpu: undefined, memory: undefined, eventLoopDelay: undefined };
    let eventLoopDelay = track.eventLoopDelay;
    // Unanswered past one interval: the worker's loop has not turned since (or its channel is
    // stuck). Say how long, rather than show the last healthy figure.
    if (track.askedAt !== undefined) {
      const silent = Date.now() - track.askedAt;
      if (silent > this.#interval) eventLoopDelay = Math.max(eventLoopDelay ?? 0, silent);
    }
    return {
      cpu: track.cpu,
      memory: track.rss === undefined ? undefined : { rss: track.rss, heapUsed: track.heapUsed },
      eventLoopDelay,
    };
  }

  #tick(): void {
    const now = Date.now();
    for (const worker of this.#host.workers()) {
      let track = this.#tracks.get(worker.id);
      if (!track) {
        track = {
          pid: worker.pid,
          lastCpu: undefined,
          cpu: undefined,
          rss: undefined,
          heapUsed: undefined,
          eventLoopDelay: undefined,
          askedAt: undefined,
        };
        this.#tracks.set(worker.id, track);
      }
      track.pid = worker.pid;
      if (this.#procAvailable && worker.pid !== undefined) this.#readProc(track, worker.pid);
      if (worker.answers) {
        // One request open at a time: a blocked worker is not sent a pile of them.
        if (track.askedAt === undefined) {
          track.askedAt = now;
          this.#host.ask(worker.id);
        }
      }
    }
  }

  #readProc(track: Track, pid: number): void {
    let stat: string;
    let status: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch (error) {
      // No /proc at all (macOS, Windows): use the workers' own reports from now on. A missing
      // pid directory only means that worker is gone.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !procExists()) this.#procAvailable = false;
      return;
    }
    // The command name (field 2) may contain spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
    if (Number.isFinite(ticks)) this.#cpuSample(track, (ticks * 1_000) / CLOCK_TICKS_PER_SECOND, 'os');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (rss) track.rss = Number(rss[1]) * 1_024;
  }

  #cpuSample(track: Track, cpuMs: number, source: 'os' | 'worker'): void {
    const at = performance.now();
    const last = track.lastCpu;
    if (last && last.source === source && at > last.at) {
      track.cpu = round1(Math.max(0, ((cpuMs - last.cpuMs) / (at - last.at)) * 100));
    }
    track.lastCpu = { cpuMs, at, source };
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

let procChecked: boolean | undefined;
function procExists(): boolean {
  if (procChecked === undefined) {
    try {
      readFileSync('/proc/self/stat');
      procChecked = true;
    } catch {
      procChecked = false;
    }
  }
  return procChecked;
}
