/** Waiting until enough workers said `ready()`: what every primary does after forking. */
import { assertTimeout, isFiniteTimeout } from '../call.js';
import { AbortedError, TimeoutError } from '../errors.js';
import type { WorkerInfo } from './primary-bus.js';

/** The part of the primary bus this needs. */
export interface ReadinessSource {
  readyWorkerIds(): number[];
  watchWorkers(listener: (info: WorkerInfo) => void): () => void;
}

/**
 * Resolves with the ready worker ids once at least `count` workers are ready. Rejects with TIMEOUT
 * after `timeout` ms (0 or Infinity: wait forever) and ABORTED when `signal` fires.
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
    const finish = () => {
      stop();
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      reject(new AbortedError(`waitForReady(${count}) was aborted`, { cause: signal?.reason }));
    };
    const stop = source.watchWorkers(() => {
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
