/** The pool's typing is the bus's: method names, inputs and results inferred from the contract. */
import { describe, expectTypeOf, it } from 'vitest';
import type { PoolStats, TaskPool } from '../../src/index.js';
import type { PoolContract } from '../fixtures/pool-contract.js';

declare const pool: TaskPool<PoolContract>;

describe('TaskPool types', () => {
  it('infers run() from the contract like bus.call', () => {
    expectTypeOf(pool.run('work', { id: 'a', ms: 1 })).toEqualTypeOf<
      Promise<{ id: string; worker: number; pid: number; concurrent: number }>
    >();
    expectTypeOf(pool.run('noop')).toEqualTypeOf<Promise<number>>();
    expectTypeOf(pool.run('noop', 2, { timeout: 5, retry: 1 })).toEqualTypeOf<Promise<number>>();
    // @ts-expect-error not a worker procedure
    void pool.run('nope');
    // @ts-expect-error wrong input
    void pool.run('work', { id: 1, ms: 1 });
    // @ts-expect-error input required
    void pool.run('work');
  });

  it('types stats() and events', () => {
    expectTypeOf(pool.stats()).toEqualTypeOf<PoolStats>();
    expectTypeOf(pool.stats().runTime.p99).toBeNumber();
    pool.on('retry', (info) => expectTypeOf(info.workerId).toBeNumber());
    // @ts-expect-error unknown event
    pool.on('nope', () => {});
  });
});
