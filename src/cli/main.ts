#!/usr/bin/env node
/**
 * The `clusterbus` command: `start` runs an app as a supervised cluster in the foreground; `ls`,
 * `status`, `reload`, `scale` and `stop` operate a running one through its control socket.
 * Every failure is one line on stderr and a non-zero exit: 2 for a bad command line, 1 otherwise.
 */
import { CommandError, UsageError } from './args.js';
import { type Io, ls, processIo, reload, scale, status, stop } from './commands.js';
import { HELP } from './help.js';
import { start } from './start.js';
import { packageVersion } from './version.js';

const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  start,
  ls,
  status,
  reload,
  scale,
  stop,
};

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined) {
    io.err(HELP['']!);
    return 2;
  }
  if (command === '-h' || command === '--help') {
    io.out(HELP['']!);
    return 0;
  }
  if (command === '-v' || command === '--version') {
    io.out(packageVersion());
    return 0;
  }
  if (command === 'help') {
    const topic = args[0] ?? '';
    const text = HELP[topic];
    if (text === undefined) return fail(io, new UsageError(`no help for "${topic}": it is not a command`));
    io.out(text);
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    return fail(
      io,
      new UsageError(`unknown command "${command}"; the commands are ${Object.keys(COMMANDS).join(', ')}`),
    );
  }
  // --help anywhere before `--` wins over everything else on the line.
  const beforeRest = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (beforeRest.includes('--help') || beforeRest.includes('-h')) {
    io.out(HELP[command]!);
    return 0;
  }
  try {
    return await run(args, io);
  } catch (error) {
    return fail(io, error);
  }
}

function fail(io: Io, error: unknown): number {
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof UsageError) {
    const more = error.command ? `clusterbus ${error.command} --help` : 'clusterbus --help';
    io.err(`clusterbus: ${message} (see ${more})`);
    return 2;
  }
  if (error instanceof CommandError) {
    io.err(`clusterbus: ${message}`);
    return error.exitCode;
  }
  // Not ours to explain: keep the stack, it is a bug.
  io.err(`clusterbus: ${(error as Error)?.stack ?? message}`);
  return 1;
}

// `clusterbus status api | head -1` closes the pipe early: an EPIPE must not crash the command,
// let alone a running primary (and with it every worker).
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
process.exitCode = await main(process.argv.slice(2));
// Workers, sockets and timers are all closed by now. Should a stray handle (a lingering client
// socket) keep the loop alive, exit anyway once stdout had a moment to flush.
setTimeout(() => process.exit(), 500).unref();
