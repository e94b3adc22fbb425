/**
 * A sliding-window crash budget for one slot: at most `crashes` unexpected exits within `window`
 * ms. Spending the last of it stops respawning the slot instead of looping forever — unlike a
 * guard that only looks at the first seconds after start, a window catches a crash loop at any time.
 */

/** How many crashes a slot may have in a time window before it stops respawning. */
export interface CrashBudgetOptions {
  /**
   * Crashes within `window` that stop the slot.
   * @default 5
   */
  crashes?: number;
  /**
   * The sliding window, in ms.
   * @default 60000
   */
  window?: number;
}

/** The defaults of {@link CrashBudgetOptions}. */
export const DEFAULT_CRASH_BUDGET: Readonly<Required<CrashBudgetOptions>> = Object.freeze({
  crashes: 5,
  window: 60_000,
});

/**
 * Fills in defaults and checks every field.
 * @throws TypeError / RangeError naming the field and the value.
 */
export function resolveCrashBudget(
  options: CrashBudgetOptions | undefined,
  where: string,
): Required<CrashBudgetOptions> {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(
      `${where}: crashBudget must be an object { crashes, window }, got ${String(options)}`,
    );
  }
  const crashes = options?.crashes ?? DEFAULT_CRASH_BUDGET.crashes;
  const window = options?.window ?? DEFAULT_CRASH_BUDGET.window;
  if (!Number.isInteger(crashes) || crashes < 1) {
    throw new RangeError(`${where}: crashBudget.crashes must be an integer >= 1, got ${String(crashes)}`);
  }
  if (typeof window !== 'number' || !(window > 0)) {
    throw new RangeError(`${where}: crashBudget.window must be a number of ms > 0, got ${String(window)}`);
  }
  return { crashes, window };
}

/** The crash history of one slot. */
export class CrashBudget {
  readonly #crashes: number;
  readonly #window: number;
  #times: number[] = [];

  constructor(options: Required<CrashBudgetOptions>) {
    this.#crashes = options.crashes;
    this.#window = options.window;
  }

  /** Records a crash at `now`; returns true when the budget is spent (stop respawning). */
  record(now: number = Date.now()): boolean {
    this.#times = this.#times.filter((time) => now - time < this.#window);
    this.#times.push(now);
    return this.#times.length >= this.#crashes;
  }

  /** Crashes inside the window ending at `now`. */
  count(now: number = Date.now()): number {
    return this.#times.filter((time) => now - time < this.#window).length;
  }

  /** Forgets every crash (after a successful reload of the slot). */
  reset(): void {
    this.#times = [];
  }
}
