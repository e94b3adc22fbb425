/**
 * The seed's plain Express app (no clusterbus code) under the real `clusterbus start -i 2`,
 * operated by the real command from "another terminal": a reload under keep-alive load loses no
 * request and leaves only new pids; a bad deploy is aborted with a non-zero exit while the old
 * pids keep serving; scale up and down; status, ls; stop leaves no process and no socket behind.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, get, startLoad } from '../http/load.js';
import { cliFixture, REPO, useCli, waitGone } from './run.js';

const cli = useCli();
const scratch = mkdtempSync(join(tmpdir(), 'cb-app-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function startExpress(name: string, script = cliFixture('express-app.cjs'), extra: string[] = []) {
  const port = await freePort();
  const app = cli.start([script, '-i', '2', '--name', name, ...extra], {
    env: { PORT: String(port), NODE_PATH: join(REPO, 'node_modules') },
  });
  await app.waitFor(/started 2 workers/);
  const pids = await cli.pids(name);
  expect(pids).toHaveLength(2);
  return { app, port, pids };
}

// Each test starts real clusters: generous on a loaded 2-core machine.
describe('clusterbus start: a plain Express app', { timeout: 120_000 }, () => {
  it('reload under keep-alive load: zero failed requests, afterwards only new pids answer', async () => {
    const { app, port, pids } = await startExpress('api');
    expect(app.lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\d+\|api \| listening on \d+ \(pid \d+\)$/)]),
    );
    const load = startLoad(port);
    try {
      await load.waitForAnswers(50);
      const reload = await cli.run(['reload', 'api']);
      expect(reload.stderr).toBe('reloading api…\n');
      expect(reload.code).toBe(0);
      const reloadedAt = Date.now();
      const fresh = await cli.pids('api');
      for (const [slot, pid] of pids.entries()) {
        expect(reload.stdout).toMatch(
          new RegExp(`slot ${slot}: worker \\d+ \\(pid ${pid}\\) → worker \\d+ \\(pid ${fresh[slot]}\\)`),
        );
      }
      expect(reload.stdout).toMatch(/reloaded api: 2 workers replaced in [\d.]+ m?s/);
      await load.waitForAnswers(100);
      const { answers, failures } = await load.stop();
      expect(failures).toEqual([]);
      expect(answers.some((a) => pids.includes(a.pid))).toBe(true);
      const late = new Set(answers.filter((a) => a.sentAt >= reloadedAt).map((a) => a.pid));
      expect(late.size).toBeGreaterThan(0);
      for (const pid of late) expect(fresh).toContain(pid);
    } finally {
      await load.stop();
    }
    const stop = await cli.run(['stop', 'api']);
    expect(stop.code).toBe(0);
    expect(await app.exited).toBe(0);
  });

  it('a bad deploy: reload exits 1, nothing was replaced, the old pids keep serving without a failure', async () => {
    const dir = mkdtempSync(join(scratch, 'deploy-'));
    const script = join(dir, 'app.cjs');
    copyFileSync(cliFixture('express-app.cjs'), script);
    const { port, pids } = await startExpress('shop', script);
    const load = startLoad(port);
    try {
      await load.waitForAnswers(50);
      copyFileSync(cliFixture('broken-app.cjs'), script); // the new release throws on boot
      const reload = await cli.run(['reload', 'shop']);
      expect(reload.code).toBe(1);
      expect(reload.stderr).toMatch(
        /clusterbus: reload of shop failed: reload aborted at slot 0 after replacing 0 of 2 workers/,
      );
      expect(reload.stdout).toBe('');
      const failedAt = Date.now();
      await load.waitForAnswers(100);
      const { answers, failures } = await load.stop();
      expect(failures).toEqual([]);
      expect(await cli.pids('shop')).toEqual(pids);
      const late = new Set(answers.filter((a) => a.sentAt >= failedAt).map((a) => a.pid));
      expect([...late].sort()).toEqual([...pids].sort());
    } finally {
      await load.stop();
    }
  });

  it('status, status --json and ls show the cluster; scale grows and shrinks it; stop leaves nothing behind', async () => {
    const { app, port, pids } = await startExpress('web');
    const json = await cli.run(['status', 'web', '--json']);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout);
    expect(rows).toHaveLength(2);
    for (const [slot, row] of rows.entries()) {
      expect(row).toMatchObject({ pid: pids[slot], slot, state: 'ready', restarts: 0, inFlight: 0 });
      expect(row.uptime).toBeGreaterThanOrEqual(0);
      expect(typeof row.startedAt).toBe('number');
    }

    const table = await cli.run(['status', 'web']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^web  pid ${app.child.pid}  running  2/2 ready`));
    expect(lines[1]!.split(/\s{2,}/).map((h) => h.trim())).toEqual([
      'id',
      'pid',
      'slot',
      'state',
      'restarts',
      'uptime',
      'cpu',
      'memory',
      'in flight',
    ]);
    expect(lines.slice(2)).toHaveLength(2);
    expect(lines[2]).toMatch(
      new RegExp(`^\\s*\\d+\\s+${pids[0]}\\s+0\\s+ready\\s+0\\s+\\S+\\s+\\S+\\s+(\\S+ [KMG]B|-)\\s+0$`),
    );
    expect(table.stdout.includes('\u001b[')).toBe(false); // NO_COLOR, and not a TTY

    const ls = await cli.run(['ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(
      new RegExp(
        `^name\\s+pid\\s+state\\s+ready\\s+uptime\\s+script\\nweb\\s+${app.child.pid}\\s+running\\s+2/2\\s`,
      ),
    );
    const lsJson = JSON.parse((await cli.run(['ls', '--json'])).stdout);
    expect(lsJson).toEqual([expect.objectContaining({ name: 'web', pid: app.child.pid, size: 2, ready: 2 })]);

    const up = await cli.run(['scale', 'web', '3']);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/^scaled web from 2 to 3 workers \(started worker \d+\)$/m);
    const three = await cli.pids('web');
    expect(three).toHaveLength(3);
    expect(three.slice(0, 2)).toEqual(pids);
    expect((await get(port, '/', false)).status).toBe(200);

    const down = await cli.run(['scale', 'web', '1']);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/^scaled web from 3 to 1 workers \(stopped workers \d+, \d+\)$/m);
    expect(await cli.pids('web')).toEqual([pids[0]]);
    expect(await waitGone(three.slice(1), 10_000)).toEqual([]);

    const socket = join(cli.home, 'web.sock');
    expect(existsSync(socket)).toBe(true);
    const stop = await cli.run(['stop', 'web']);
    expect(stop.code).toBe(0);
    expect(stop.stderr).toBe(`stopping web (pid ${app.child.pid})…\n`);
    expect(stop.stdout).toMatch(/^stopped web: 1 workers drained in [\d.]+ m?s$/m);
    // stop returned only once the primary was gone
    expect(app.child.exitCode ?? (await app.exited)).toBe(0);
    expect(await waitGone([app.child.pid!, ...three], 2_000)).toEqual([]);
    expect(existsSync(socket)).toBe(false);
    expect((await cli.run(['ls'])).stdout).toBe('no cluster is running\n');
  });

  it('the control socket: owner-only, one primary per name, a killed primary’s stale socket is replaced', async () => {
    // No CLUSTERBUS_HOME: the default place under XDG_RUNTIME_DIR, created by the command itself.
    const runtime = mkdtempSync(join(scratch, 'xdg-'));
    const env = { CLUSTERBUS_HOME: '', XDG_RUNTIME_DIR: runtime };
    const port = await freePort();
    const first = cli.start([cliFixture('express-app.cjs'), '-i', '1', '--name', 'solo'], {
      env: { ...env, PORT: String(port), NODE_PATH: join(REPO, 'node_modules') },
    });
    await first.waitFor(/started 1 worker/);
    const home = join(runtime, 'clusterbus');
    expect(statSync(home).mode & 0o777).toBe(0o700);
    const socket = statSync(join(home, 'solo.sock'));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);

    const second = await cli.run([`start`, cliFixture('express-app.cjs'), '-i', '1', '--name', 'solo'], {
      env: { ...env, PORT: String(port) },
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(
        `clusterbus: a cluster named "solo" is already running \\(primary pid ${first.child.pid}\\)`,
      ),
    );
    expect(second.stderr).not.toMatch(/\d+\|solo \|/); // refused before forking anything
    const statusEnv = { env };
    const [worker] = JSON.parse((await cli.run(['status', 'solo', '--json'], statusEnv)).stdout);
    expect(worker.state).toBe('ready');

    first.child.kill('SIGKILL');
    await first.exited;
    expect(await waitGone([worker.pid], 5_000)).toEqual([]); // its worker exits by itself
    expect(existsSync(join(home, 'solo.sock'))).toBe(true); // stale

    const again = cli.start([cliFixture('express-app.cjs'), '-i', '1', '--name', 'solo'], {
      env: { ...env, PORT: String(port), NODE_PATH: join(REPO, 'node_modules') },
    });
    await again.waitFor(/started 1 worker/);
    const status = await cli.run(['status', 'solo', '--json'], statusEnv);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)[0].state).toBe('ready');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    writeFileSync(join(runtime, 'done'), '');
  });
});
