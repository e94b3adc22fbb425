/**
 * Readiness in zero-code mode through the real command: an app with no server is refused with a
 * hint at --ready (readiness is "its HTTP servers listen" by default), and runs with --ready start,
 * quietly (no warning about a second bus: the preload's own bus is the only one).
 */
import { describe, expect, it } from 'vitest';
import { useCli } from './run.js';

const cli = useCli();
const app = new URL('../fixtures/auto/no-server-app.cjs', import.meta.url).pathname;
const argsApp = new URL('../fixtures/cli/args-app.cjs', import.meta.url).pathname;

describe('clusterbus start --ready', { timeout: 120_000 }, () => {
  it('listen (the default) with an app that never listens: start fails with a hint at --ready', async () => {
    const result = await cli.run(['start', app, '-i', '1', '--ready-timeout', '1500']);
    expect(result.code).toBe(1);
    const last = result.stderr.trimEnd().split('\n').at(-1);
    expect(last).toMatch(
      /^clusterbus: no-server-app did not start: 1 worker failed \(see above\); .*needs --ready start/,
    );
  });

  it('start: an app with no server is ready at once, and stops cleanly', async () => {
    const running = cli.start([app, '-i', '1', '--ready', 'start', '--name', 'consumer']);
    await running.waitFor(/started 1 worker/);
    const [row] = JSON.parse((await cli.run(['status', 'consumer', '--json'])).stdout);
    expect(row.state).toBe('ready');
    const stop = await cli.run(['stop', 'consumer']);
    expect(stop.code).toBe(0);
    expect(await running.exited).toBe(0);
    expect(running.lines.filter((line) => /Warning/.test(line))).toEqual([]);
  });

  it('-- passes the script its arguments, --no-prefix prints worker lines as they are, SIGHUP reloads', async () => {
    const running = cli.start([
      argsApp,
      '-i',
      '1',
      '--ready',
      'start',
      '--no-prefix',
      '--',
      '--port',
      '80',
      'x',
    ]);
    await running.waitFor(/started 1 worker/);
    expect(running.lines).toContain('args ["--port","80","x"] name args-app');
    const [before] = await cli.pids('args-app');
    running.child.kill('SIGHUP');
    await running.waitFor(/reload done in \d+ ms: 1 worker replaced/);
    const [after] = await cli.pids('args-app');
    expect(after).not.toBe(before);
    expect(running.lines.filter((line) => line.startsWith('args '))).toHaveLength(2);
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);
  });
});
