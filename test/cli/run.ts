/**
 * Runs the real `clusterbus` command (the built bin, dist/cli.js) as a process: one-shot commands
 * with their exit code and output, and `start` in the background with its output lines awaited.
 * Every test file gets its own CLUSTERBUS_HOME, and every primary it starts is stopped after each
 * test (SIGKILL if it does not stop), together with any worker it leaves.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';
import { readLines } from '../helpers/lines.js';
import { isAlive, waitGone } from '../supervisor/cluster-helpers.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Absolute path of a fixture in test/fixtures/cli. */
export function cliFixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/cli/${name}`, import.meta.url));
}

/** What a finished command did. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A `clusterbus start` running in the background. */
export interface RunningCli {
  child: ChildProcess;
  /** Every line of stdout and stderr so far, in arrival order. */
  lines: string[];
  /** Resolves with the first line (seen before or after the call) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  /** Worker pids ever reported by `status --json` through {@link Cli.pids}. */
  seenPids: Set<number>;
}

/** The command, bound to one temporary CLUSTERBUS_HOME. */
export interface Cli {
  home: string;
  env: NodeJS.ProcessEnv;
  run(
    args: string[],
    options?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<CliResult>;
  start(args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): RunningCli;
  /** The worker pids of cluster `name`, from `status --json`. */
  pids(name: string): Promise<number[]>;
}

/** Registers the per-test cleanup and returns the command bound to a fresh home. */
export function useCli(): Cli {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const home = mkdtempSync(join(tmpdir(), 'cb-cli-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CLUSTERBUS_HOME: home, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  const running = new Set<RunningCli>();

  afterEach(async () => {
    for (const cli of running) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) {
        cli.child.kill('SIGTERM');
        const timer = setTimeout(() => cli.child.kill('SIGKILL'), 8_000);
        await cli.exited;
        clearTimeout(timer);
      }
      const left = await waitGone([...cli.seenPids], 5_000);
      for (const pid of left) process.kill(pid, 'SIGKILL');
    }
    running.clear();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const cli: Cli = {
    home,
    env,
    run(args, options = {}) {
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          [CLI, ...args],
          { cwd: options.cwd ?? REPO, env: { ...env, ...options.env }, timeout: options.timeoutMs ?? 60_000 },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      });
    },
    start(args, options = {}) {
      const child = spawn(process.execPath, [CLI, 'start', ...args], {
        cwd: options.cwd ?? REPO,
        env: { ...env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output = readLines([child.stdout!, child.stderr!]);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const started: RunningCli = {
        child,
        lines: output.lines,
        exited,
        seenPids: new Set(),
        waitFor(pattern, timeoutMs = 45_000) {
          return output.waitFor((line) => pattern.test(line), timeoutMs, `a line matching ${pattern}`);
        },
      };
      running.add(started);
      return started;
    },
    async pids(name) {
      const result = await cli.run(['status', name, '--json']);
      if (result.code !== 0) throw new Error(`status ${name} failed (${result.code}): ${result.stderr}`);
      const rows = JSON.parse(result.stdout) as Array<{ pid?: number }>;
      const pids = rows.flatMap((row) => (row.pid === undefined ? [] : [row.pid]));
      for (const runningCli of running) for (const pid of pids) runningCli.seenPids.add(pid);
      return pids;
    },
  };
  return cli;
}

export { isAlive, waitGone };
