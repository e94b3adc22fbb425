/**
 * Exponential backoff between respawns of one slot: `min * factor^(attempt-1)`, capped at `max`,
 * spread by ±`jitter` so workers that crashed together do not all come back in the same tick.
 */

/** Respawn backoff. */
export interface BackoffOptions {
  /**
   * Delay before the first respawn, in ms.
   * @default 100
   */
  min?: number;
  /**
   * Longest delay, in ms.
   * @default 30000
   */
  max?: number;
  /**
   * Each consecutive crash multiplies the delay by this.
   * @default 2
   */
  factor?: number;
  /**
   * Random spread as a fraction of the delay: `0.2` means ±20 %.
   * @default 0.2
   */
  jitter?: number;
}

/** Backoff with every default filled in. */
export type ResolvedBackoff = Required<BackoffOptions>;

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: Readonly<ResolvedBackoff> = Object.freeze({
  min: 100,
  max: 30_000,
  factor: 2,
  jitter: 0.2,
});

/**
 * Fills in defaults and checks every field.
 * @throws TypeError / RangeError naming the field and the value.
 */
export function resolveBackoff(options: BackoffOptions | undefined, where: string): ResolvedBackoff {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(
      `${where}: backoff must be an object { min, max, factor, jitter }, got ${String(options)}`,
    );
  }
  const resolved = { ...DEFAULT_BACKOFF, ...definedOnly(options ?? {}) };
  const check = (name: keyof ResolvedBackoff, ok: (value: number) => boolean, rule: string) => {
    const value = resolved[name];
    if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) {
      throw new RangeError(`${where}: backoff.${name} must be ${rule}, got ${String(value)}`);
    }
  };
  check('min', (v) => v >= 0 && Number.isFinite(v), 'a number of ms >= 0');
  check(
    'max',
    (v) => v >= resolved.min && Number.isFinite(v),
    `a number of ms >= backoff.min (${resolved.min})`,
  );
  check('factor', (v) => v >= 1 && Number.isFinite(v), 'a number >= 1');
  check('jitter', (v) => v >= 0 && v <= 1, 'a fraction between 0 and 1');
  return resolved;
}

/** The delay before respawn number `attempt` (1 for the first respawn after a healthy run). */
export function backoffDelay(
  backoff: ResolvedBackoff,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(backoff.max, backoff.min * backoff.factor ** Math.max(0, attempt - 1));
  const spread = base * backoff.jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(backoff.max, Math.round(base + spread)));
}

/** Drops keys whose value is `undefined`, so they do not override defaults. */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
