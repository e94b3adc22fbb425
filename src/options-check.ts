/**
 * Unknown option names: `{ sise: 2 }` or `{ timout: 5 }` would otherwise be ignored without a
 * word. Every options object a user passes is checked against the names its type declares, and a
 * stray key is a TypeError that names it and the closest valid name.
 */

/** The valid names of one options object. */
export type OptionNames = readonly string[];

/**
 * Lists the option names of `T`. Written as an object literal so the compiler checks that it
 * names every key of `T` and nothing else: a new option cannot be forgotten here.
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: true }): OptionNames {
  return Object.freeze(Object.keys(names));
}

/**
 * Throws when `options` has an own key that is not in `names`.
 * @param where How the message names the options, e.g. `startCluster options`.
 * @throws TypeError naming the unknown key and the closest valid name.
 */
export function assertOptionNames(options: object, names: OptionNames, where: string): void {
  for (const key in options) {
    if (!names.includes(key) && Object.hasOwn(options, key)) throw unknownOptionError(key, names, where);
  }
}

/** The names {@link assertCallOptionNames} accepts. */
const CALL_OPTION_NAMES: OptionNames = Object.freeze(['timeout', 'signal']);

/**
 * The per-call check of `{ timeout, signal }`: on the hot path, so it allocates nothing and
 * compares two strings per key; the message is built only when a key is wrong.
 * @throws TypeError naming the unknown key and the closest valid name.
 */
export function assertCallOptionNames(options: object | undefined, where: () => string): void {
  if (options === undefined) return;
  for (const key in options) {
    if (key !== 'timeout' && key !== 'signal' && Object.hasOwn(options, key)) {
      throw unknownOptionError(key, CALL_OPTION_NAMES, where());
    }
  }
}

/** The TypeError for one unknown key. */
export function unknownOptionError(key: string, names: OptionNames, where: string): TypeError {
  const closest = closestName(key, names);
  const hint = closest === undefined ? '' : ` (did you mean "${closest}"?)`;
  return new TypeError(
    `${where}: unknown option "${key}"${hint}; the valid options are ${names.map((n) => `"${n}"`).join(', ')}`,
  );
}

/**
 * The valid name nearest to `key` by edit distance (case-insensitive), if it is near enough to be
 * a plausible typo: at most a third of the name's length (2 edits at least), or the same stem.
 */
export function closestName(key: string, names: OptionNames): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(2, Math.floor(Math.max(key.length, best.length) / 3));
  // Past that, the same stem (`retries` for `retry`, `minimum` for `min`) is a typo too.
  const other = best.toLowerCase();
  let shared = 0;
  while (shared < lower.length && lower[shared] === other[shared]) shared++;
  const shorter = Math.min(lower.length, other.length);
  const sameStem = (shared >= 4 && shared >= shorter - 1) || (shared >= 3 && shared === shorter);
  return bestDistance <= allowed || sameStem ? best : undefined;
}

/** Levenshtein distance, with one row of memory. */
function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
