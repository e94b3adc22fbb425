/**
 * `npx clusterbus start app.js -i max` from a fresh install: the packed tarball (what `npm i
 * clusterbus` unpacks) laid out in a new project the way npm lays it out — the package under
 * node_modules, its bin linked into node_modules/.bin — and run through `npx`. The registry is
 * not reachable here, so the dependencies are linked from this repository's node_modules.
 */
import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, get } from '../http/load.js';
import { cliFixture, REPO, useCli, waitGone } from './run.js';

const exec = promisify(execFile);
const cli = useCli();
const scratch = mkdtempSync(join(tmpdir(), 'cb-install-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A project with the packed clusterbus installed and the seed's Express app as app.js. */
async function freshProject(): Promise<string> {
  const project = join(scratch, 'project');
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-app', private: true }));
  copyFileSync(cliFixture('express-app.cjs'), join(project, 'app.js'));
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: REPO });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed!.files.map((f) => f.path);
  expect(files).toEqual(
    expect.arrayContaining(['dist/cli.js', 'dist/auto/preload.cjs', 'dist/index.js', 'package.json']),
  );
  mkdirSync(join(modules, 'clusterbus'));
  await exec('tar', [
    '-xzf',
    join(scratch, packed!.filename),
    '-C',
    join(modules, 'clusterbus'),
    '--strip-components=1',
  ]);
  const pkg = JSON.parse(readFileSync(join(modules, 'clusterbus', 'package.json'), 'utf8'));
  for (const dep of [...Object.keys(pkg.dependencies), 'express']) {
    symlinkSync(join(REPO, 'node_modules', dep), join(modules, dep));
  }
  // What npm does with "bin": a symlink in node_modules/.bin.
  symlinkSync(join('..', 'clusterbus', pkg.bin.clusterbus), join(modules, '.bin', 'clusterbus'));
  return project;
}

describe('a fresh install', { timeout: 120_000 }, () => {
  it('npx clusterbus start app.js -i max runs the plain Express app on every core; npx clusterbus stop stops it', async () => {
    const project = await freshProject();
    const port = await freePort();
    const npx = spawn('npx', ['--offline', 'clusterbus', 'start', 'app.js', '-i', 'max'], {
      cwd: project,
      env: { ...cli.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const started = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk;
        if (/started \d+ workers?/.test(output)) resolve();
      };
      npx.stdout.on('data', onData);
      npx.stderr.on('data', onData);
      npx.once('exit', () => reject(new Error(`npx exited early:\n${output}`)));
    });
    const exited = new Promise<number | null>((resolve) => npx.once('exit', resolve));
    try {
      await started;
      const status = await exec('npx', ['--offline', 'clusterbus', 'status', 'app', '--json'], {
        cwd: project,
        env: cli.env,
      });
      const rows = JSON.parse(status.stdout) as Array<{ pid: number; state: string }>;
      expect(rows.length).toBeGreaterThanOrEqual(1);
      expect(rows.every((row) => row.state === 'ready')).toBe(true);
      const answer = await get(port, '/', false);
      expect(rows.map((row) => row.pid)).toContain(answer.body.pid);
      const stop = await exec('npx', ['--offline', 'clusterbus', 'stop', 'app'], {
        cwd: project,
        env: cli.env,
      });
      expect(stop.stdout).toMatch(/^stopped app: \d+ workers drained/m);
      expect(await exited).toBe(0);
      expect(
        await waitGone(
          rows.map((row) => row.pid),
          2_000,
        ),
      ).toEqual([]);
    } finally {
      if (npx.exitCode === null) npx.kill('SIGKILL');
    }
  });
});
