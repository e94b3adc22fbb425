/**
 * `clusterbus start`: this process becomes the primary of a supervised cluster running the app,
 * in the foreground. It takes the cluster's name on a control socket first (a second start with
 * a running name is refused before anything is forked), preloads the zero-code module in every
 * worker, prefixes their output, and exits once the cluster has stopped: Ctrl-C, SIGTERM or
 * `clusterbus stop`. SIGHUP and `clusterbus reload` reload it.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUTO_ENV, IDLE_GRACE_ENV, READY_ENV, READY_MODES, type ReadyMode } from '../auto/settings.js';
import { defineContract } from '../contract.js';
import { controlHandlers } from '../control/handlers.js';
import { assertClusterName } from '../control/paths.js';
import { ClusterRunningError, ControlServer } from '../control/server.js';
import { ClusterStartError } from '../supervisor/errors.js';
import type { ShutdownResult } from '../supervisor/events.js';
import type { SupervisorLogger } from '../supervisor/log.js';
import type { ReloadOptions } from '../supervisor/options.js';
import { Supervisor } from '../supervisor/supervisor.js';
import {
  CommandError,
  milliseconds,
  noExtraArguments,
  parseCommand,
  positiveInteger,
  UsageError,
} from './args.js';
import type { Io } from './commands.js';
import { type ClusterConfig, CONFIG_FILES, findConfig, loadConfig } from './config.js';
import { styleFor } from './format.js';
import { packageVersion } from './version.js';

/** Every worker of `clusterbus start` learns its cluster's name here. */
export const NAME_ENV = 'CLUSTERBUS_NAME';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  instances: { type: 'string', short: 'i' },
  name: { type: 'string', short: 'n' },
  env: { type: 'string', short: 'e', multiple: true },
  config: { type: 'string', short: 'c' },
  ready: { type: 'string' },
  'ready-timeout': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'node-arg': { type: 'string', multiple: true },
  'no-prefix': { type: 'boolean' },
} as const;

/** Everything `start` runs with, after the config file and the command line are merged. */
export interface StartSettings {
  script: string;
  name: string;
  instances: number;
  env: Record<string, string>;
  args: string[];
  nodeArgs: string[];
  cwd: string;
  ready: ReadyMode;
  readyTimeout: number | undefined;
  drainTimeout: number | undefined;
  idleGrace: number | undefined;
  prefix: boolean;
  reload: ReloadOptions;
}

/** Parses the command line and the config file into {@link StartSettings}. @throws UsageError, CommandError */
export async function resolveStartSettings(args: string[], cwd = process.cwd()): Promise<StartSettings> {
  const { values, positionals, rest } = parseCommand('start', args, OPTIONS);
  noExtraArguments('start', positionals, 1);
  // Mistakes on the command line are reported before any file is looked at.
  const cliInstances =
    values.instances === undefined || values.instances === 'max'
      ? values.instances
      : positiveInteger(values.instances, '-i/--instances (a number or "max")', 'start');
  if (values.ready !== undefined && !(READY_MODES as readonly string[]).includes(values.ready)) {
    throw new UsageError(`--ready must be one of ${READY_MODES.join(', ')}, got "${values.ready}"`, 'start');
  }
  const readyTimeout =
    values['ready-timeout'] === undefined
      ? undefined
      : positiveInteger(values['ready-timeout'], '--ready-timeout', 'start');
  const drainTimeout =
    values['drain-timeout'] === undefined
      ? undefined
      : milliseconds(values['drain-timeout'], '--drain-timeout', 'start');
  const cliEnv = parseEnv(values.env ?? []);
  const scriptArg = positionals[0];
  const configPath = values.config ? resolve(cwd, values.config) : scriptArg ? undefined : findConfig(cwd);
  if (!scriptArg && !configPath) {
    throw new UsageError(
      `no script given and no ${CONFIG_FILES.join(', ')} in ${cwd}: run clusterbus start <script>`,
      'start',
    );
  }
  if (configPath && !existsSync(configPath))
    throw new CommandError(`the config file ${configPath} does not exist`);
  const config: ClusterConfig = configPath ? await loadConfig(configPath) : {};
  const base = configPath ? dirname(configPath) : cwd;
  const script = scriptArg
    ? resolve(cwd, scriptArg)
    : config.script
      ? resolve(base, config.script)
      : undefined;
  if (!script) {
    throw new CommandError(
      `${basename(configPath!)} names no "script", and none was given: clusterbus start <script>`,
    );
  }
  if (!existsSync(script)) {
    throw new CommandError(`cannot find the script ${scriptArg ?? config.script} (looked for ${script})`);
  }

  const name = values.name ?? config.name ?? defaultName(script);
  try {
    assertClusterName(name, values.name !== undefined ? '--name' : 'the cluster name');
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; pick one with --name`, 'start');
  }

  const instancesSetting = cliInstances ?? config.instances ?? 'max';
  const instances = instancesSetting === 'max' ? availableParallelism() : instancesSetting;
  const ready = (values.ready ?? config.ready ?? 'listen') as ReadyMode;

  return {
    script,
    name,
    instances,
    env: { ...config.env, ...cliEnv },
    args: rest.length > 0 ? rest : (config.args ?? []),
    nodeArgs: [...(config.nodeArgs ?? []), ...(values['node-arg'] ?? [])],
    cwd: config.cwd ? resolve(base, config.cwd) : cwd,
    ready,
    readyTimeout: readyTimeout ?? config.readyTimeout,
    drainTimeout: drainTimeout ?? config.drain?.timeout,
    idleGrace: config.drain?.idleGrace,
    prefix: values['no-prefix'] ? false : (config.prefix ?? true),
    reload: { ...config.reload },
  };
}

/** `app.js` → `app`; characters a name cannot hold become `-`. */
function defaultName(script: string): string {
  const stem = basename(script, extname(script))
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 64);
  return /^[A-Za-z0-9]/.test(stem) ? stem : `app${stem}`.slice(0, 64);
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at === -1 ? pair : pair.slice(0, at);
    if (at === -1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(`--env takes KEY=VALUE (KEY of letters, digits and _), got "${pair}"`, 'start');
    }
    env[key] = pair.slice(at + 1);
  }
  return env;
}

/** The preload, next to this file in the build (`dist/auto/preload.cjs`). */
function preloadPath(): string {
  const path = fileURLToPath(new URL('./auto/preload.cjs', import.meta.url));
  if (!existsSync(path)) {
    throw new CommandError(
      `the zero-code preload is missing at ${path}; reinstall clusterbus (or run npm run build)`,
    );
  }
  return path;
}

/** `clusterbus start …`: resolves with the exit code once the cluster stopped. */
export async function start(args: string[], io: Io): Promise<number> {
  const settings = await resolveStartSettings(args);
  const { name } = settings;
  const errStyle = styleFor(process.stderr);
  const tag = errStyle.dim(`clusterbus|${name} |`);
  const logger: SupervisorLogger = {
    info: (msg) => io.err(`${tag} ${msg}`),
    warn: (msg) => io.err(`${tag} ${errStyle.yellow(msg)}`),
    error: (msg) => io.err(`${tag} ${errStyle.red(msg)}`),
  };
  const outStyle = styleFor(process.stdout);
  const colorPrefix = outStyle.enabled && errStyle.enabled;

  let supervisor: Supervisor;
  try {
    supervisor = new Supervisor({
      contract: defineContract({}),
      exec: settings.script,
      args: settings.args,
      execArgv: [...settings.nodeArgs, '--require', preloadPath()],
      cwd: settings.cwd,
      env: {
        ...settings.env,
        [AUTO_ENV]: '1',
        [READY_ENV]: settings.ready,
        ...(settings.idleGrace === undefined ? {} : { [IDLE_GRACE_ENV]: String(settings.idleGrace) }),
        [NAME_ENV]: name,
      },
      size: settings.instances,
      readyTimeout: settings.readyTimeout,
      probation: settings.reload.probation,
      drainTimeout: settings.drainTimeout,
      // SIGHUP is handled below, so a signalled reload uses the config file's reload settings too.
      signals: { shutdown: ['SIGINT', 'SIGTERM'], reload: [], exit: false },
      logger,
      prefixOutput: settings.prefix
        ? ({ id }) => (colorPrefix ? `${outStyle.cyan(`${id}|${name}`)} | ` : `${id}|${name} | `)
        : false,
    });
  } catch (error) {
    throw new CommandError((error as Error).message);
  }

  let started = false;
  let stopReason: string | undefined;
  const stopped = new Promise<ShutdownResult>((resolveStopped) =>
    supervisor.once('shutdownDone', resolveStopped),
  );
  supervisor.once('shutdownStart', ({ reason }) => {
    stopReason = reason;
  });
  let control: ControlServer;
  try {
    control = await ControlServer.listen({
      name,
      handlers: controlHandlers(supervisor, {
        name,
        script: settings.script,
        cwd: settings.cwd,
        startedAt: Date.now(),
        version: packageVersion(),
        get started() {
          return started;
        },
        reloadOptions: settings.reload,
        stop: (timeout) =>
          supervisor.shutdown({ reason: 'clusterbus stop', ...(timeout === undefined ? {} : { timeout }) }),
      }),
      onError: (error) => logger.warn(`control socket: ${error.message}`),
    });
  } catch (error) {
    if (error instanceof ClusterRunningError) throw new CommandError(error.message);
    throw new CommandError(`cannot open the control socket: ${(error as Error).message}`);
  }

  const onHup = () => {
    // The outcome is logged (reload done / failed); a failed reload keeps the old workers.
    supervisor.reload(settings.reload).catch(() => {});
  };
  process.on('SIGHUP', onHup);
  try {
    logger.info(
      `starting ${settings.instances} worker${settings.instances === 1 ? '' : 's'} of ${settings.script}; operate it with \`clusterbus status|reload|stop ${name}\``,
    );
    try {
      await supervisor.start();
      started = true;
    } catch (error) {
      // A Ctrl-C or `clusterbus stop` while starting is a stop, not a failure of the app.
      if (error instanceof ClusterStartError && stopReason && stopReason !== 'start failed') {
        return (await stopped).graceful ? 0 : 1;
      }
      throw new CommandError(startFailure(name, error as Error, settings.ready));
    }
    const result = await stopped;
    return result.graceful ? 0 : 1;
  } finally {
    process.off('SIGHUP', onHup);
    await control.close();
  }
}

/** One line: the supervisor already logged the details of each failed worker above. */
function startFailure(name: string, error: Error, ready: ReadyMode): string {
  if (!(error instanceof ClusterStartError)) return error.message;
  const notReady = error.failures.some((f) => /did not call ready\(\)/.test(f.reason));
  const hint = !notReady
    ? ''
    : ready === 'listen'
      ? '; a worker is ready once its HTTP servers listen: an app with no HTTP server needs --ready start (or --ready message and process.send("ready"))'
      : ready === 'message'
        ? '; with --ready message a worker is ready once it calls process.send("ready")'
        : '';
  const failed = error.failures.length;
  return `${name} did not start: ${failed} worker${failed === 1 ? '' : 's'} failed (see above)${hint}`;
}
