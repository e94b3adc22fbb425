/**
 * The commands that operate a running cluster from another terminal: each connects to the
 * cluster's control socket and calls one control procedure.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { type ControlClient, connectControl } from '../control/client.js';
import type { ClusterInfo, ReplacedRow, WorkerRow } from '../control/contract.js';
import { assertClusterName, controlHome, socketNames } from '../control/paths.js';
import { isBusError } from '../errors.js';
import { CommandError, milliseconds, noExtraArguments, parseCommand, UsageError } from './args.js';
import {
  formatBytes,
  formatDuration,
  formatElapsed,
  formatPercent,
  renderTable,
  type Style,
  styleFor,
} from './format.js';

/** Where a command writes. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Colours of stdout. */
  style: Style;
}

/** The process's own streams. */
export function processIo(): Io {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    style: styleFor(process.stdout),
  };
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** `clusterbus ls [--json]` */
export async function ls(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('ls', args, { ...HELP_OPTION, json: { type: 'boolean' } });
  noExtraArguments('ls', positionals, 0);
  const home = controlHome();
  const found = await Promise.all(socketNames(home).map((name) => infoOf(name, home)));
  const live = found.filter((info): info is ClusterInfo => info !== undefined);
  if (values.json) {
    io.out(JSON.stringify(live, null, 2));
    return 0;
  }
  if (live.length === 0) {
    io.out('no cluster is running');
    return 0;
  }
  const now = Date.now();
  io.out(
    renderTable<ClusterInfo>(
      [
        { header: 'name', value: (c) => c.name, color: (_c, cell) => io.style.cyan(cell) },
        { header: 'pid', value: (c) => String(c.pid), align: 'right' },
        { header: 'state', value: (c) => c.state, color: (c, cell) => stateColor(io.style, c.state, cell) },
        { header: 'ready', value: (c) => `${c.ready}/${c.size}`, align: 'right' },
        { header: 'uptime', value: (c) => formatDuration(now - c.startedAt), align: 'right' },
        { header: 'script', value: (c) => c.script },
      ],
      live,
      io.style,
    ),
  );
  return 0;
}

/** One cluster's info, or `undefined` when its socket is stale or it does not answer. */
async function infoOf(name: string, home: string): Promise<ClusterInfo | undefined> {
  let client: ControlClient;
  try {
    client = await connectControl(name, { home, timeout: 3_000 });
  } catch {
    return undefined;
  }
  try {
    return await client.bus.call('info');
  } catch {
    return undefined;
  } finally {
    await client.close();
  }
}

/** `clusterbus status <name> [--json]` */
export async function status(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('status', args, { ...HELP_OPTION, json: { type: 'boolean' } });
  const name = requireName('status', positionals, 1);
  return withClient(name, async (client) => {
    const rows = await client.bus.call('status');
    if (values.json) {
      io.out(JSON.stringify(rows, null, 2));
      return 0;
    }
    const info = await client.bus.call('info');
    io.out(
      `${io.style.bold(info.name)}  pid ${info.pid}  ${stateColor(io.style, info.state, info.state)}  ${info.ready}/${info.size} ready  up ${formatDuration(Date.now() - info.startedAt)}  ${io.style.dim(info.script)}`,
    );
    io.out(rows.length === 0 ? 'no workers' : workerTable(rows, io.style));
    return 0;
  });
}

/** The `pm2 ls`-like table of one cluster's workers. */
export function workerTable(rows: WorkerRow[], style: Style, now = Date.now()): string {
  return renderTable<WorkerRow>(
    [
      { header: 'id', value: (r) => (r.id === undefined ? '-' : String(r.id)), align: 'right' },
      { header: 'pid', value: (r) => (r.pid === undefined ? '-' : String(r.pid)), align: 'right' },
      { header: 'slot', value: (r) => String(r.slot), align: 'right' },
      { header: 'state', value: (r) => r.state, color: (r, cell) => stateColor(style, r.state, cell) },
      { header: 'restarts', value: (r) => String(r.restarts), align: 'right' },
      {
        header: 'uptime',
        // Rows of primaries without an `uptime` column still carry `startedAt`.
        value: (r) =>
          formatDuration(
            r.state === 'stopped'
              ? undefined
              : (r.uptime ?? (r.startedAt === undefined ? undefined : now - r.startedAt)),
          ),
        align: 'right',
      },
      { header: 'cpu', value: (r) => formatPercent(r.cpu), align: 'right' },
      { header: 'memory', value: (r) => formatBytes(r.memory?.rss), align: 'right' },
      { header: 'in flight', value: (r) => String(r.inFlight), align: 'right' },
    ],
    rows,
    style,
  );
}

/** `clusterbus reload <name>` */
export async function reload(args: string[], io: Io): Promise<number> {
  const { positionals } = parseCommand('reload', args, HELP_OPTION);
  const name = requireName('reload', positionals, 1);
  return withClient(name, async (client) => {
    io.err(`reloading ${name}…`);
    try {
      const result = await client.bus.call('reload', undefined, { timeout: 0 });
      for (const row of result.replaced) io.out(describeReplaced(row));
      const killed =
        result.killed.length > 0
          ? `; ${result.killed.length} old workers did not drain in time and were killed`
          : '';
      io.out(
        `reloaded ${name}: ${result.replaced.length} workers replaced in ${formatElapsed(result.durationMs)}${killed}`,
      );
      return 0;
    } catch (error) {
      const remote =
        isBusError(error) && error.code === 'REMOTE'
          ? (error.cause as Error & { data?: unknown })
          : undefined;
      const replaced = (remote?.data as { replaced?: ReplacedRow[] } | undefined)?.replaced ?? [];
      for (const row of replaced) io.out(describeReplaced(row));
      throw new CommandError(`reload of ${name} failed: ${remote?.message ?? (error as Error).message}`);
    }
  });
}

function describeReplaced(row: ReplacedRow): string {
  const old = row.oldId === undefined ? 'no worker' : `worker ${row.oldId} (pid ${row.oldPid ?? '?'})`;
  return `slot ${row.slot}: ${old} → worker ${row.newId} (pid ${row.newPid ?? '?'}) in ${formatElapsed(row.ms)}`;
}

/** `clusterbus scale <name> <n|max>` */
export async function scale(args: string[], io: Io): Promise<number> {
  const { positionals } = parseCommand('scale', args, HELP_OPTION);
  const name = requireName('scale', positionals, 2);
  const given = positionals[1];
  if (given === undefined)
    throw new UsageError('missing the worker count: clusterbus scale <name> <n|max>', 'scale');
  const size = given === 'max' ? availableParallelism() : Number(given);
  if (!Number.isSafeInteger(size) || size < 1 || (given !== 'max' && !/^\d+$/.test(given))) {
    throw new UsageError(`the worker count must be a positive integer or "max", got "${given}"`, 'scale');
  }
  return withClient(name, async (client) => {
    const result = await client.bus.call('scale', { size }, { timeout: 0 });
    const what =
      result.started.length > 0
        ? `started ${list(result.started)}`
        : result.stopped.length > 0
          ? `stopped ${list(result.stopped)}`
          : 'nothing to do';
    io.out(`scaled ${name} from ${result.previous} to ${result.size} workers (${what})`);
    return 0;
  });
}

const list = (ids: number[]) => `worker${ids.length === 1 ? '' : 's'} ${ids.join(', ')}`;

/** `clusterbus stop <name> [--timeout <ms>]` */
export async function stop(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('stop', args, { ...HELP_OPTION, timeout: { type: 'string' } });
  const name = requireName('stop', positionals, 1);
  const timeout =
    values.timeout === undefined ? undefined : milliseconds(values.timeout, '--timeout', 'stop');
  return withClient(name, async (client) => {
    const { pid } = await client.bus.call('info');
    io.err(`stopping ${name} (pid ${pid})…`);
    const result = await client.bus.call('stop', timeout === undefined ? {} : { timeout }, { timeout: 0 });
    // The reply comes once the workers are gone; the primary exits right after.
    if (!(await gone(pid, 15_000))) {
      throw new CommandError(`${name}'s workers stopped, but its primary (pid ${pid}) is still running`);
    }
    const killed = result.killed.length > 0 ? `, ${list(result.killed)} killed at the deadline` : '';
    io.out(
      `stopped ${name}: ${result.drained.length} workers drained${killed} in ${formatElapsed(result.durationMs)}`,
    );
    return 0;
  });
}

/** Linux only (`/proc/<pid>/stat`, state `Z`); false wherever it cannot tell. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

function requireName(command: string, positionals: string[], max: number): string {
  const name = positionals[0];
  if (name === undefined)
    throw new UsageError(`missing the cluster name: clusterbus ${command} <name>`, command);
  noExtraArguments(command, positionals, max);
  try {
    assertClusterName(name, 'the cluster name');
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  return name;
}

/** Connects, runs `fn`, closes; connection and call failures become one-line errors. */
async function withClient(name: string, fn: (client: ControlClient) => Promise<number>): Promise<number> {
  let client: ControlClient;
  try {
    client = await connectControl(name);
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
  try {
    return await fn(client);
  } catch (error) {
    if (error instanceof CommandError) throw error;
    if (isBusError(error) && error.code === 'REMOTE') throw new CommandError((error.cause as Error).message);
    if (isBusError(error) && error.code === 'PEER_GONE') {
      throw new CommandError(`cluster "${name}" went away before it answered (${error.message})`);
    }
    throw new CommandError((error as Error).message);
  } finally {
    await client.close();
  }
}

function stateColor(style: Style, state: string, cell: string): string {
  if (state === 'ready' || state === 'running') return style.green(cell);
  if (state === 'starting' || state === 'draining' || state === 'reloading' || state === 'stopping') {
    return style.yellow(cell);
  }
  return style.red(cell);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `pid` is gone; false if it still runs after `timeout` ms. */
async function gone(pid: number, timeout: number): Promise<boolean> {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      process.kill(pid, 0);
      // An exited primary whose parent has not reaped it yet is a zombie: it is gone all the same.
      if (isZombie(pid)) return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
    if (Date.now() > end) return false;
    await delay(25);
  }
}
