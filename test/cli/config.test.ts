/**
 * The config file (clusterbus.config.{mjs,js,json}): `clusterbus start` with no script reads it
 * from the working directory, the command line overrides it, and a bad one is refused with an
 * error that names the file and the field.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/cli/config.js';
import { freePort, get } from '../http/load.js';
import { cliFixture, REPO, useCli } from './run.js';

const cli = useCli();
const scratch = mkdtempSync(join(tmpdir(), 'cb-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A directory holding app.cjs (the Express app) and the given config file. */
function project(file: string, contents: string): string {
  const dir = mkdtempSync(join(scratch, 'app-'));
  copyFileSync(cliFixture('express-app.cjs'), join(dir, 'app.cjs'));
  writeFileSync(join(dir, file), contents);
  return dir;
}

const nodePath = { NODE_PATH: join(REPO, 'node_modules') };

describe('validateConfig', () => {
  it.each([
    [
      { script: 'a.js', instance: 2 },
      /^x\.json: "instance" is not a setting clusterbus knows \(known: script, name, instances,/,
    ],
    [{ instances: 0 }, /^x\.json: "instances" /],
    [{ instances: 'all' }, /^x\.json: "instances" /],
    [{ env: { PORT: { n: 1 } } }, /^x\.json: "env\.PORT" /],
    [{ reload: { parallel: 0 } }, /^x\.json: "reload\.parallel" too small/],
    [
      { reload: { paralel: 2 } },
      /^x\.json: "reload\.paralel" is not a setting clusterbus knows \(known: parallel, probation, readyTimeout\)/,
    ],
    [{ drain: { timeout: -1 } }, /^x\.json: "drain\.timeout" too small/],
    [{ ready: 'soon' }, /^x\.json: "ready" /],
    [{ name: 'my app' }, /^x\.json: "name" must be 1-64 letters/],
    [{ apps: [{ script: 'a.js' }] }, /^x\.json: "apps" is the layout of PM2's ecosystem file/],
    [[1, 2], /^x\.json: the config must be an object, got an array/],
  ])('%j is refused, naming the field', (raw, message) => {
    expect(() => validateConfig(raw, 'x.json')).toThrow(message);
  });

  it('accepts a full config; env numbers and booleans become strings', () => {
    expect(
      validateConfig(
        {
          script: 'app.js',
          name: 'api',
          instances: 'max',
          env: { PORT: 3000, DEBUG: false, MODE: 'prod' },
          args: ['--verbose'],
          nodeArgs: ['--max-old-space-size=256'],
          ready: 'message',
          readyTimeout: 5000,
          prefix: false,
          reload: { parallel: 2, probation: 500, readyTimeout: 10_000 },
          drain: { timeout: 8000, idleGrace: 300 },
        },
        'x.json',
      ),
    ).toMatchObject({ instances: 'max', env: { PORT: '3000', DEBUG: 'false', MODE: 'prod' } });
  });
});

describe('clusterbus start with a config file', { timeout: 120_000 }, () => {
  it('clusterbus.config.json: read when no script is given; the command line overrides it', async () => {
    const port = await freePort();
    const dir = project(
      'clusterbus.config.json',
      JSON.stringify({
        script: 'app.cjs',
        name: 'cfg',
        instances: 1,
        env: { PORT: port, APP_VERSION: 'from-config' },
      }),
    );
    const app = cli.start([], { cwd: dir, env: nodePath });
    await app.waitFor(/started 1 worker/);
    expect(await cli.pids('cfg')).toHaveLength(1);
    expect((await get(port, '/', false)).body.version).toBe('from-config');
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);

    const overridden = cli.start(['-i', '2', '--name', 'cfg-override', '--env', 'APP_VERSION=from-cli'], {
      cwd: dir,
      env: nodePath,
    });
    await overridden.waitFor(/started 2 workers/);
    expect(await cli.pids('cfg-override')).toHaveLength(2);
    expect((await get(port, '/', false)).body.version).toBe('from-cli');
    const stop = await cli.run(['stop', 'cfg-override']);
    expect(stop.code).toBe(0);
    expect(await overridden.exited).toBe(0);
  });

  it('clusterbus.config.mjs: an ES module default export; no prefix when the config says so', async () => {
    const port = await freePort();
    const dir = project(
      'clusterbus.config.mjs',
      `export default { script: './app.cjs', name: 'esm-cfg', instances: 1, prefix: false, env: { PORT: '${port}' } };\n`,
    );
    const app = cli.start([], { cwd: dir, env: nodePath });
    await app.waitFor(/started 1 worker/);
    expect(app.lines).toContainEqual(expect.stringMatching(/^listening on \d+ \(pid \d+\)$/));
    const stop = await cli.run(['stop', 'esm-cfg']);
    expect(stop.code).toBe(0);
  });

  it('a bad config file: one line naming the file and the field, exit 1, nothing started', async () => {
    const dir = project('clusterbus.config.json', JSON.stringify({ script: 'app.cjs', instances: -3 }));
    const result = await cli.run(['start'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^clusterbus: clusterbus\.config\.json: "instances" /);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    const broken = project('clusterbus.config.json', '{ "script": ');
    const parsed = await cli.run(['start'], { cwd: broken });
    expect(parsed.code).toBe(1);
    expect(parsed.stderr).toMatch(/^clusterbus: clusterbus\.config\.json is not valid JSON/);
  });
});
