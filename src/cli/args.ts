/**
 * Argument parsing for every command, through `node:util`'s `parseArgs` (strict: an unknown
 * option or a missing value is an error), with the failures turned into one-line usage errors.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose `--help` explains the usage. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** A failure while running a command: printed as one line, exit code 1. */
export class CommandError extends Error {
  override name = 'CommandError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseCommand} returns. */
export interface Parsed<O extends Options> {
  values: {
    [K in keyof O]?: O[K] extends { multiple: true }
      ? string[]
      : O[K] extends { type: 'boolean' }
        ? boolean
        : string;
  };
  positionals: string[];
  /** What came after `--`, untouched. */
  rest: string[];
}

/** Parses `args` for `command`. @throws UsageError */
export function parseCommand<O extends Options>(command: string, args: string[], options: O): Parsed<O> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError(describeParseError(error as Error & { code?: string }, command), command);
  }
  const terminator = parsed.tokens?.find((token) => token.kind === 'option-terminator');
  const before = terminator
    ? parsed.tokens!.filter((t) => t.kind === 'positional' && t.index < terminator.index).length
    : parsed.positionals.length;
  return {
    values: parsed.values as Parsed<O>['values'],
    positionals: parsed.positionals.slice(0, before),
    rest: parsed.positionals.slice(before),
  };
}

function describeParseError(error: Error & { code?: string }, command: string): string {
  // parseArgs messages are long and mention its own API; keep the part a user needs.
  const message = error.message.split('. ')[0]!.replace(/^Unknown option '([^']+)'$/, 'unknown option $1');
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && command === 'start') {
    return `${message}; arguments for the script go after --`;
  }
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/** Throws a UsageError when more positionals were given than `max`. */
export function noExtraArguments(command: string, positionals: string[], max: number): void {
  if (positionals.length > max) {
    const extra = positionals[max]!;
    const hint = command === 'start' ? '; arguments for the script go after --' : '';
    throw new UsageError(`unexpected argument "${extra}"${hint}`, command);
  }
}

/** A positive integer, or a UsageError naming the option. */
export function positiveInteger(value: string, what: string, command: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${what} must be a positive integer, got "${value}"`, command);
  }
  return n;
}

/** A duration in ms (a non-negative integer), or a UsageError naming the option. */
export function milliseconds(value: string, what: string, command: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new UsageError(`${what} must be a number of milliseconds, got "${value}"`, command);
  }
  return n;
}
