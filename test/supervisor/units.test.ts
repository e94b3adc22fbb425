import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF, resolveBackoff } from '../../src/supervisor/backoff.js';
import { CrashBudget, resolveCrashBudget } from '../../src/supervisor/crash-budget.js';
import { resolveSignals } from '../../src/supervisor/signals.js';

describe('backoff', () => {
  it('grows by factor from min, is capped at max, and jitters within ±jitter', () => {
    const b = resolveBackoff({ min: 100, max: 1_000, factor: 2, jitter: 0 }, 'test');
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(b, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const j = resolveBackoff({ min: 100, jitter: 0.2 }, 'test');
    expect(backoffDelay(j, 1, () => 0)).toBe(80);
    expect(backoffDelay(j, 1, () => 1)).toBe(120);
    expect(resolveBackoff(undefined, 'test')).toEqual(DEFAULT_BACKOFF);
  });

  it('rejects bad fields, naming them', () => {
    expect(() => resolveBackoff({ min: -1 }, 'opts')).toThrow(
      'opts: backoff.min must be a number of ms >= 0, got -1',
    );
    expect(() => resolveBackoff({ min: 500, max: 100 }, 'opts')).toThrow(
      /backoff.max must be .*>= backoff.min \(500\)/,
    );
    expect(() => resolveBackoff({ jitter: 2 }, 'opts')).toThrow(RangeError);
    expect(() => resolveBackoff(5 as never, 'opts')).toThrow(TypeError);
  });
});

describe('crash budget', () => {
  it('is spent by `crashes` crashes inside the sliding window, and only then', () => {
    const budget = new CrashBudget({ crashes: 3, window: 1_000 });
    expect(budget.record(0)).toBe(false);
    expect(budget.record(500)).toBe(false);
    expect(budget.record(1_200)).toBe(false); // the crash at 0 slid out of the window
    expect(budget.count(1_200)).toBe(2);
    expect(budget.record(1_300)).toBe(true);
    budget.reset();
    expect(budget.count(1_300)).toBe(0);
  });

  it('rejects bad fields, naming them', () => {
    expect(() => resolveCrashBudget({ crashes: 0 }, 'opts')).toThrow(
      'opts: crashBudget.crashes must be an integer >= 1, got 0',
    );
    expect(() => resolveCrashBudget({ window: 0 }, 'opts')).toThrow(/crashBudget.window/);
  });
});

describe('signals', () => {
  it('defaults to SIGINT/SIGTERM for shutdown and SIGHUP for reload; false turns them off', () => {
    expect(resolveSignals(undefined, 'o')).toEqual({
      shutdown: ['SIGINT', 'SIGTERM'],
      reload: ['SIGHUP'],
      exit: true,
    });
    expect(resolveSignals(false, 'o')).toBeUndefined();
    expect(resolveSignals({ reload: [] }, 'o')?.reload).toEqual([]);
    expect(() => resolveSignals({ shutdown: ['TERM' as NodeJS.Signals] }, 'o')).toThrow(/signals.shutdown/);
  });
});
