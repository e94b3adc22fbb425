/**
 * End to end: an HTTP cluster (test/fixtures/http-worker.ts, drained with drainHttp) under
 * continuous keep-alive load from a real client. Reload loses no request and leaves only new pids;
 * a reload to a release that cannot boot is aborted without losing a request; shutdown lets slow
 * requests finish.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { ReloadError } from '../../src/index.js';
import { fixturePath, workerMessages } from '../helpers/cluster.js';
import { useClusters } from '../supervisor/cluster-helpers.js';
import { freePort, get, startLoad } from './load.js';

const start = useClusters();

async function startHttpCluster() {
  const port = await freePort();
  const cluster = await start('http-worker.ts', { env: { PORT: String(port) }, probation: 200 });
  return { cluster, port, pids: cluster.status().map((row) => row.pid!) };
}

describe('HTTP cluster under keep-alive load', () => {
  it('reload: zero failed requests, and afterwards every answer comes from a new pid', async () => {
    const { cluster, port, pids } = await startHttpCluster();
    const load = startLoad(port);
    try {
      await load.waitForAnswers(50);
      await cluster.reload();
      const reloadedAt = Date.now();
      const fresh = cluster.status().map((row) => row.pid!);
      await load.waitForAnswers(100);
      const { answers, failures } = await load.stop();
      expect(failures).toEqual([]);
      expect(answers.some((a) => pids.includes(a.pid))).toBe(true);
      const after = new Set(answers.filter((a) => a.sentAt >= reloadedAt).map((a) => a.pid));
      for (const pid of after) expect(fresh).toContain(pid);
      for (const pid of pids) expect(after.has(pid)).toBe(false);
    } finally {
      await load.stop();
    }
  });

  it('reload to a release that throws on boot: aborted, zero failed requests, the old pids still answer', async () => {
    const { cluster, port, pids } = await startHttpCluster();
    const load = startLoad(port);
    try {
      await load.waitForAnswers(50);
      const error = await cluster.reload({ exec: fixturePath('http-broken.ts') }).catch((e) => e);
      expect(error).toBeInstanceOf(ReloadError);
      const failedAt = Date.now();
      await load.waitForAnswers(100);
      const { answers, failures } = await load.stop();
      expect(failures).toEqual([]);
      expect(cluster.status().map((row) => row.pid)).toEqual(pids);
      const after = new Set(answers.filter((a) => a.sentAt >= failedAt).map((a) => a.pid));
      expect([...after].sort()).toEqual([...pids].sort());
    } finally {
      await load.stop();
    }
  });

  it('shutdown: slow requests in flight finish before the workers exit', async () => {
    const { cluster, port } = await startHttpCluster();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const arrived = workerMessages((m) => typeof m.slowArrived === 'number', 4);
      const slow = Array.from({ length: 4 }, () => get(port, '/slow?ms=1000', agent));
      await arrived; // every request reached a worker before the drain begins
      const result = await cluster.shutdown({ timeout: 10_000 });
      const answers = await Promise.all(slow);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(answers.every((a) => a.headers.connection === 'close')).toBe(true);
      expect(result).toMatchObject({ graceful: true, killed: [] });
    } finally {
      agent.destroy();
    }
  });
});
