/**
 * Start-up failures say what happened: a worker that died names its exit code and the error it
 * died of (reported by its bus before it died), not ready(); a wrong exec is refused once, up front.
 */
import nodeCluster from 'node:cluster';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ClusterStartError, startCluster } from '../../src/index.js';
import { contract } from '../fixtures/contract.js';
import { useClusters } from './cluster-helpers.js';

const start = useClusters();

function holdPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

describe('start-up failures', { timeout: 90_000 }, () => {
  it('a worker that dies of EADDRINUSE: the error says it exited, with its code and the error, and does not blame ready()', async () => {
    const { server, port } = await holdPort();
    try {
      const error = await start('busy-worker.ts', { size: 1, env: { LISTEN_PORT: String(port) } }).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(ClusterStartError);
      expect(error.message).toMatch(
        /exited with code 1 before it was ready \(it died of Error \[EADDRINUSE\]: \w+ EADDRINUSE/,
      );
      expect(error.message).not.toMatch(/ready\(\)/);
      expect(error.failures[0]).toMatchObject({ code: 1, signal: null });
      expect(error.failures[0].error).toMatch(/^Error \[EADDRINUSE\]: \w+ EADDRINUSE/);
    } finally {
      server.close();
    }
  });

  it('a worker alive but never ready: only then does the error point at ready()', async () => {
    const error = await start('supervisor-worker.ts', {
      size: 1,
      readyTimeout: 1_500,
      env: { NEVER_READY: '1' },
    }).catch((e) => e);
    expect(error.message).toMatch(/did not call ready\(\) within 1500 ms.*calls bus\.ready\(\)/);
  });

  it('a wrong exec path is refused once, up front, before anything is forked', async () => {
    const forks: unknown[] = [];
    const onFork = (worker: unknown) => forks.push(worker);
    nodeCluster.on('fork', onFork);
    try {
      await expect(
        startCluster({ contract, exec: './no/such/worker.js', size: 4, log: false }),
      ).rejects.toThrow(
        /exec "\.\/no\/such\/worker\.js" does not exist \(looked for .*no\/such\/worker\.js\)/,
      );
      await expect(
        startCluster({ contract, exec: new URL('file:///no/such/worker.mjs'), size: 4, log: false }),
      ).rejects.toThrow(TypeError);
    } finally {
      nodeCluster.off('fork', onFork);
    }
    expect(forks).toEqual([]);
  });

  it('reload() to a wrong exec path is refused at once, and the workers keep serving', async () => {
    const cluster = await start('supervisor-worker.ts', { size: 1 });
    expect(() => cluster.reload({ exec: '/no/such/release.js' })).toThrow(
      /exec "\/no\/such\/release\.js" does not exist/,
    );
    expect(cluster.status()[0]?.state).toBe('ready');
  });
});
