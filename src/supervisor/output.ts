/**
 * Worker output prefixing (`prefixOutput`): every line a worker writes to stdout/stderr is
 * written to the primary's with a prefix such as `[3] `, like PM2's log view. Line-safe: a chunk
 * that ends mid-line is held until its newline arrives, so two workers' half lines never
 * interleave; what is left when the stream ends is written with a newline added.
 */
import type { Readable, Writable } from 'node:stream';

/** The `prefixOutput` option: `true` for `[id] `, or a function of the worker. */
export type PrefixOutput = boolean | ((worker: { id: number; slot: number }) => string);

/** A line longer than this is written in pieces (each prefixed) rather than held forever. */
const MAX_HELD_CHARS = 64 * 1024;

/** Resolves `prefixOutput`; `undefined` means the workers inherit the primary's stdio. */
export function resolvePrefix(
  option: unknown,
  where: string,
): ((worker: { id: number; slot: number }) => string) | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return ({ id }) => `[${id}] `;
  if (typeof option === 'function') return option as (worker: { id: number; slot: number }) => string;
  throw new TypeError(
    `${where}: prefixOutput must be a boolean or a function ({ id, slot }) => string, got ${String(option)}`,
  );
}

/** Copies `from` to `to`, prefixing every line with `prefix`. */
export function pipePrefixed(from: Readable, to: Writable, prefix: string): void {
  from.setEncoding('utf8');
  let held = '';
  from.on('data', (chunk: string) => {
    const text = held + chunk;
    const end = text.lastIndexOf('\n');
    if (end === -1) {
      held = text;
      if (held.length > MAX_HELD_CHARS) {
        to.write(`${prefix}${held}\n`);
        held = '';
      }
      return;
    }
    held = text.slice(end + 1);
    // One write per chunk of whole lines: another worker's lines come before or after, never inside.
    to.write(
      text
        .slice(0, end)
        .split('\n')
        .map((line) => `${prefix}${line}\n`)
        .join(''),
    );
  });
  from.on('end', () => {
    if (held) to.write(`${prefix}${held}\n`);
    held = '';
  });
  // A read error on a dying worker's pipe is not the primary's problem.
  from.on('error', () => {});
}
