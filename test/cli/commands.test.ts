/**
 * The command line itself, through the real bin: --version, --help on every command, and the
 * one-line errors with a non-zero exit for an unknown command, a bad option, a missing name and a
 * name with no running cluster (no socket, or a stale one left by a killed primary).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCli } from './run.js';

const cli = useCli();
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

describe('clusterbus (the command line)', () => {
  it('package.json exposes the bin, and --version prints the package version', async () => {
    expect(pkg.bin).toEqual({ clusterbus: './dist/cli.js' });
    const result = await cli.run(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it.each(['start', 'ls', 'status', 'reload', 'scale', 'stop'])(
    '%s --help prints its usage and exits 0',
    async (command) => {
      const result = await cli.run([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: clusterbus ${command}`));
    },
  );

  it('--help and help <command> print the overview and a command usage', async () => {
    expect((await cli.run(['--help'])).stdout).toMatch(/^Usage: clusterbus <command>/);
    expect((await cli.run(['help', 'reload'])).stdout).toMatch(/^Usage: clusterbus reload <name>/);
  });

  it.each([
    [
      ['frobnicate'],
      /^clusterbus: unknown command "frobnicate"; the commands are start, ls, status, reload, scale, stop/,
    ],
    [['status'], /^clusterbus: missing the cluster name: clusterbus status <name>/],
    [['reload'], /^clusterbus: missing the cluster name/],
    [['stop'], /^clusterbus: missing the cluster name/],
    [['scale', 'api'], /^clusterbus: missing the worker count/],
    [
      ['scale', 'api', 'many'],
      /^clusterbus: the worker count must be a positive integer or "max", got "many"/,
    ],
    [['status', 'api', '--jsn'], /^clusterbus: unknown option --jsn/],
    [['status', 'a/b'], /^clusterbus: the cluster name must be 1-64 letters/],
    [
      ['start', 'app.js', '--port', '80'],
      /^clusterbus: unknown option --port; arguments for the script go after --/,
    ],
    [
      ['start', 'app.js', '-i', 'lots'],
      /^clusterbus: -i\/--instances \(a number or "max"\) must be a positive integer, got "lots"/,
    ],
  ])('bad command line %j: one line on stderr, exit 2', async (args, message) => {
    const result = await cli.run(args as string[]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('no command at all: the overview on stderr, exit 2', async () => {
    const result = await cli.run([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^Usage: clusterbus <command>/);
  });

  it.each(['status', 'reload', 'stop'])(
    '%s of a name with no running cluster: one line, exit 1',
    async (command) => {
      const result = await cli.run([command, 'nothing-here']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^clusterbus: no cluster named "nothing-here" is running/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    },
  );

  it('a stale socket left by a killed primary: "not running", and ls does not list it', async () => {
    // A real listener killed with SIGKILL leaves its socket file behind, as a crashed primary would.
    const path = join(cli.home, 'ghost.sock');
    const child = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(path)).toBe(true);
    const result = await cli.run(['status', 'ghost']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no cluster named "ghost" is running: its control socket .* is left over/);
    const listed = await cli.run(['ls', '--json']);
    expect(listed).toMatchObject({ code: 0 });
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('start with a missing script or no config file: one line, non-zero exit, nothing started', async () => {
    const missing = await cli.run(['start', 'does-not-exist.js']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^clusterbus: cannot find the script does-not-exist\.js \(looked for .*does-not-exist\.js\)/,
    );
    const none = await cli.run(['start'], { cwd: cli.home });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /no script given and no clusterbus\.config\.mjs, clusterbus\.config\.js, clusterbus\.config\.json in/,
    );
  });
});
