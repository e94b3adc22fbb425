/**
 * What a test reads a real process's output with: every line it prints, collected as it comes
 * (parsed, or skipped when `parse` returns undefined), and a wait for the first line that
 * matches, whether already printed or still to come. The wait fails at its timeout, or as soon
 * as every stream has ended without the line, and its error shows what was printed.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** The collected output of one process. */
export interface LineReader<T> {
  /** Every line so far, parsed. */
  readonly lines: T[];
  /** Resolves with the first line that matches; `what` names it in the error. */
  waitFor(match: (line: T) => boolean, timeoutMs: number, what: string): Promise<T>;
}

/** JSON lines; anything else (a stray log line) is skipped. */
export function parseJsonLine(line: string): any {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** Starts reading `streams` (stdout, stderr, …) line by line. */
export function readLines<T = string>(
  streams: Readable[],
  parse: (line: string) => T | undefined = (line) => line as T,
): LineReader<T> {
  const lines: T[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  let open = streams.length;
  for (const stream of streams) {
    const reader = createInterface({ input: stream });
    reader.on('line', (text) => {
      const parsed = parse(text);
      if (parsed === undefined) return;
      lines.push(parsed);
      wake();
    });
    reader.once('close', () => {
      open--;
      wake();
    });
  }
  const render = () =>
    lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n');
  return {
    lines,
    waitFor(match, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = () => {
          const hit = lines.find(match);
          if (hit !== undefined) {
            finish();
            resolve(hit);
          } else if (open === 0) {
            finish();
            reject(
              new Error(`${what}: the process ended its output without printing it; output:\n${render()}`),
            );
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`${what}: not printed within ${timeoutMs} ms; output:\n${render()}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
