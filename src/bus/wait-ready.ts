/** Waiting until enough workers said `ready()`: what every primary does after forking. */
import { assertTimeout, isFiniteTimeout } from '../call.js';
import { AbortedError, NotReadyError, TimeoutError } from '../errors.js';
import type { WorkerInfo } from './primary-bus.js';

/** The part of the primary bus this needs. */
export interface ReadinessSource {
  readyWorkerIds(): number[];
  workers(): WorkerInfo[];
  watchWorkers(listener: (info: WorkerInfo) => void): () => void;
  /**
   * How a worker that is leaving ended, e.g. `exited with code 1` or `was killed by SIGKILL`.
   * Called while the worker's 'exited' change is being reported; may wait a little for its exit.
   */
  exitOf(id: number): Promise<string>;
}

/** One worker that ended while `waitForReady` was waiting. */
export interface WorkerEnd {
  id: number;
  /** E.g. `exited with code 1`, `was killed by SIGKILL`. */
  how: string;
}

/**
 * Resolves with the ready worker ids once at least `count` workers are ready. Rejects with TIMEOUT
 * after `timeout` ms (0 or Infinity: wait forever), ABORTED when `signal` fires, and NOT_READY as
 * soon as a worker ends and the workers left (ready or starting) are fewer than `count`, naming
 * how each one ended. A worker forked in an 'exit' handler (a respawn) is counted before deciding.
 */
export function waitForReady(
  source: ReadinessSource,
  count: number,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`waitForReady(count): count must be a positive integer, got ${String(count)}`);
  }
  assertTimeout(timeout, `waitForReady(${count})`);
  const now = source.readyWorkerIds();
  if (now.length >= count) return Promise.resolve(now);
  if (signal?.aborted) {
    return Promise.reject(new AbortedError(`waitForReady(${count}) was aborted`, { cause: signal.reason }));
  }
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const ends: Array<Promise<WorkerEnd>> = [];
    const finish = () => {
      done = true;
      stop();
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      reject(new AbortedError(`waitForReady(${count}) was aborted`, { cause: signal?.reason }));
    };
    // Every end reported so far, including those reported while waiting for the others.
    const allEnds = async (): Promise<WorkerEnd[]> => {
      let seen: WorkerEnd[];
      do seen = await Promise.all(ends);
      while (seen.length < ends.length);
      return seen;
    };
    const recheck = async () => {
      await allEnds();
      // One more turn of the loop: an 'exit' handler that respawns has forked by then.
      await new Promise((resolve) => setImmediate(resolve));
      if (done) return;
      const rows = source.workers();
      const ready = rows.filter((row) => row.state === 'ready').length;
      const starting = rows.filter((row) => row.state === 'starting').length;
      if (ready >= count) {
        finish();
        resolve(source.readyWorkerIds());
        return;
      }
      if (ready + starting >= count) return;
      const seen = await allEnds();
      if (done) return;
      finish();
      const list = seen.map((end) => `worker ${end.id} ${end.how}`).join(', ');
      reject(
        new NotReadyError(
          `waitForReady(${count}): too few workers are left to reach ${count} ready (${ready} ready, ${starting} starting): ` +
            `${list}; check why the workers exit before calling bus.ready() (their stderr), or fork more`,
          { data: { ends: seen } },
        ),
      );
    };
    const stop = source.watchWorkers((info) => {
      if (info.state === 'exited') {
        ends.push(source.exitOf(info.id).then((how) => ({ id: info.id, how })));
        void recheck();
        return;
      }
      const ready = source.readyWorkerIds();
      if (ready.length < count) return;
      finish();
      resolve(ready);
    });
    if (isFiniteTimeout(timeout)) {
      timer = setTimeout(() => {
        finish();
        const ready = source.readyWorkerIds().length;
        reject(
          new TimeoutError(
            `waitForReady(${count}): only ${ready} worker${ready === 1 ? ' was' : 's were'} ready after ${timeout} ms; does every worker call bus.ready() once it can take work?`,
          ),
        );
      }, timeout);
      timer.unref();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
