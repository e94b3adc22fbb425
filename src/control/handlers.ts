/**
 * The control procedures of one supervised cluster: what `clusterbus ls/status/reload/scale/stop`
 * do to it. Each is a thin call into the supervisor; failures travel back as typed errors.
 */
import type { PrimaryHandlers } from '../bus/primary-bus.js';
import { isSupervisorError, type ReloadError } from '../supervisor/errors.js';
import type { ReloadOptions } from '../supervisor/options.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { ClusterInfo, ControlContract } from './contract.js';

/** What the handlers need to know about the cluster besides its supervisor. */
export interface ControlTarget {
  name: string;
  script: string;
  cwd: string;
  /** When the primary started (ms since epoch). */
  startedAt: number;
  /** The clusterbus version running the primary. */
  version: string;
  /** True once `start()` succeeded. */
  readonly started: boolean;
  /** Options of every reload asked for over the socket (the config file's `reload` settings). */
  reloadOptions?: ReloadOptions;
  /**
   * Begins the graceful stop the `stop` procedure asks for; resolves with the shutdown's result
   * once every worker is gone (the primary exits after the reply is out).
   */
  stop(timeout: number | undefined): ReturnType<Supervisor['shutdown']>;
}

/** Builds the control handlers for `supervisor`. */
export function controlHandlers(
  supervisor: Supervisor<any>,
  target: ControlTarget,
): PrimaryHandlers<ControlContract> {
  let reloading = 0;
  supervisor.on('reloadStart', () => reloading++);
  const done = () => {
    reloading = Math.max(0, reloading - 1);
  };
  supervisor.on('reloadDone', done);
  supervisor.on('reloadFailed', done);

  const state = (): ClusterInfo['state'] => {
    if (supervisor.closing) return 'stopping';
    if (!target.started) return 'starting';
    return reloading > 0 ? 'reloading' : 'running';
  };

  const notStarting = (what: string) => {
    if (!target.started && !supervisor.closing) {
      throw new Error(`${target.name} is still starting; ${what} it once its workers are ready`);
    }
  };

  return {
    info: () => {
      const rows = supervisor.status();
      return {
        name: target.name,
        pid: process.pid,
        script: target.script,
        cwd: target.cwd,
        size: supervisor.size,
        ready: rows.filter((row) => row.state === 'ready').length,
        workers: rows.filter((row) => row.state !== 'exited' && row.state !== 'stopped').length,
        state: state(),
        startedAt: target.startedAt,
        version: target.version,
        node: process.version,
      };
    },
    status: () => supervisor.status().map((row) => ({ ...row })),
    reload: async () => {
      notStarting('reload');
      try {
        return await supervisor.reload(target.reloadOptions);
      } catch (error) {
        throw reloadFailure(error);
      }
    },
    scale: async ({ size }) => {
      const scale = (supervisor as { scale?: (size: number) => Promise<unknown> }).scale;
      if (typeof scale !== 'function') {
        throw new Error('this clusterbus version cannot scale a running cluster; restart it with -i <n>');
      }
      return (await scale.call(supervisor, size)) as Awaited<
        ReturnType<PrimaryHandlers<ControlContract>['scale']>
      >;
    },
    stop: (input) => target.stop(input?.timeout),
  };
}

/** A reload failure as data the client can print: what was replaced before it stopped. */
function reloadFailure(error: unknown): Error {
  if (!isSupervisorError(error)) return error as Error;
  const reload = error as ReloadError;
  return Object.assign(new Error(reload.message), {
    name: reload.name,
    code: reload.code,
    data: { replaced: reload.replaced ?? [], slot: reload.slot ?? null },
  });
}
