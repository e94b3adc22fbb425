/** The pool's in-process parts: option checks, the queue, the duration window. No workers. */
import { afterAll, describe, expect, it } from 'vitest';
import { createPrimaryBus, createTaskPool, POOL_DEFAULTS } from '../../src/index.js';
import { TaskQueue } from '../../src/pool/queue.js';
import { DurationWindow } from '../../src/pool/stats.js';
import { poolContract } from '../fixtures/pool-contract.js';

describe('createTaskPool options', () => {
  const bus = createPrimaryBus(poolContract, { autoAttach: false });
  afterAll(() => bus.close());

  it('fills in the documented defaults', () => {
    const pool = createTaskPool(bus);
    expect(pool.options).toEqual({ ...POOL_DEFAULTS });
    expect(POOL_DEFAULTS).toMatchObject({ concurrency: 1, maxQueue: 1000, highWaterMark: 64, retry: 0 });
    pool.close();
    expect(createTaskPool(bus, { maxQueue: 10 }).options.highWaterMark).toBe(10);
  });

  it.each([
    [{ concurrency: 0 }, /concurrency must be an integer >= 1 or Infinity, got 0/],
    [{ concurrency: 1.5 }, /concurrency .* got 1\.5/],
    [{ maxQueue: -1 }, /maxQueue must be an integer >= 0 or Infinity, got -1/],
    [{ highWaterMark: Number.NaN }, /highWaterMark .* got NaN/],
    [{ timeout: -5 }, /timeout must be a number of milliseconds from 0 .* got -5/],
    [{ timeout: 2 ** 31 }, /timeout must be a number of milliseconds from 0 to 2147483647 .* got 2147483648/],
    [{ retry: Number.POSITIVE_INFINITY }, /retry must be an integer >= 0, got Infinity/],
    [{ statsWindow: 0 }, /statsWindow must be an integer >= 1, got 0/],
  ])('rejects %o eagerly with a RangeError naming it', (options, message) => {
    expect(() => createTaskPool(bus, options)).toThrow(RangeError);
    expect(() => createTaskPool(bus, options)).toThrow(message);
  });

  it('rejects a non-bus and non-object options with a TypeError', () => {
    expect(() => createTaskPool({} as never)).toThrow(/expected the primary bus from createPrimaryBus/);
    expect(() => createTaskPool(bus, 5 as never)).toThrow(TypeError);
  });

  it('checks per-task options at once, naming the call', () => {
    const pool = createTaskPool(bus);
    expect(() => pool.run('noop', 1, { timeout: -1 })).toThrow(/run\("noop"\): timeout/);
    expect(() => pool.run('noop', 1, { retry: -1 })).toThrow(/run\("noop"\): retry must be/);
    expect(() => pool.run('noop', 1, { signal: {} as AbortSignal })).toThrow(/signal must be an AbortSignal/);
    pool.close();
  });
});

describe('TaskQueue', () => {
  it('is FIFO, takes items at the front, and removes any item once', () => {
    const queue = new TaskQueue<string>();
    const a = queue.push('a');
    const b = queue.push('b');
    queue.push('c');
    queue.unshift('z');
    expect(queue.size).toBe(4);
    expect(queue.remove(b)).toBe(true);
    expect(queue.remove(b)).toBe(false);
    expect(queue.shift()).toBe('z');
    expect(queue.remove(a)).toBe(true);
    expect(queue.clear()).toEqual(['c']);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });
});

describe('DurationWindow', () => {
  it('reports nearest-rank percentiles over the most recent samples', () => {
    const window = new DurationWindow(100);
    expect(window.summary()).toMatchObject({ count: 0, p50: 0, max: 0 });
    for (let i = 1; i <= 100; i++) window.add(i);
    expect(window.summary()).toEqual({
      count: 100,
      window: 100,
      mean: 50.5,
      p50: 50,
      p90: 90,
      p99: 99,
      max: 100,
    });
    for (let i = 0; i < 100; i++) window.add(1000);
    expect(window.summary()).toMatchObject({ count: 200, window: 100, p50: 1000, max: 1000 });
  });
});
