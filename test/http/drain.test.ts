/**
 * drainHttp against a real node:http server in this process and a real keep-alive client.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { drainHttp, trackHttp } from '../../src/index.js';
import { get, startLoad } from './load.js';

async function listen(handler: http.RequestListener) {
  const server = http.createServer(handler);
  trackHttp(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

const reply: http.RequestListener = (req, res) => {
  const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
  setTimeout(() => res.end(JSON.stringify({ pid: process.pid })), ms);
};

describe('drainHttp', () => {
  it('under keep-alive load: no request on an open connection fails; the listener closes', async () => {
    const { server, port } = await listen(reply);
    const load = startLoad(port, 6);
    await load.waitForAnswers(50);
    const result = await drainHttp(server, { timeout: 10_000, idleGrace: 200 });
    const { failures } = await load.stop();
    expect(result.graceful).toBe(true);
    expect(server.listening).toBe(false);
    // Once the listener is gone new connections are refused; nothing else may fail (no resets).
    expect(failures.filter((f) => !f.startsWith('ECONNREFUSED'))).toEqual([]);
  });

  it('lets a slow in-flight response finish and marks it Connection: close', async () => {
    const { server, port } = await listen(reply);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const slow = get(port, '/?ms=500', agent);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const drained = drainHttp(server, { timeout: 5_000 });
      const answer = await slow;
      expect(answer.status).toBe(200);
      expect(answer.headers.connection).toBe('close');
      expect((await drained).graceful).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('does not reset an idle keep-alive socket a client reuses right after the drain began', async () => {
    const { server, port } = await listen(reply);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await get(port, '/', agent); // leaves one idle keep-alive socket in the agent
      const drained = drainHttp(server, { timeout: 5_000, idleGrace: 500 });
      // Node's own server.close() would destroy that socket now and this request would fail.
      const reused = await get(port, '/', agent);
      expect(reused.status).toBe(200);
      expect(reused.headers.connection).toBe('close');
      expect((await drained).graceful).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('closes an idle keep-alive socket after its grace, without waiting for the deadline', async () => {
    const { server, port } = await listen(reply);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await get(port, '/', agent);
      const result = await drainHttp(server, { timeout: 20_000, idleGrace: 100 });
      expect(result).toMatchObject({ graceful: true, closedIdle: 1, forced: 0 });
    } finally {
      agent.destroy();
    }
  });

  it('force-closes what remains at the deadline', async () => {
    const { server, port } = await listen(() => {}); // never answers
    const agent = new http.Agent({ keepAlive: true });
    try {
      const hanging = get(port, '/', agent).catch((e) => e);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const result = await drainHttp(server, { timeout: 300 });
      expect(result).toMatchObject({ graceful: false, forced: 1 });
      expect((await hanging).code).toBe('ECONNRESET');
      expect(await drainHttp(server)).toBe(result); // same drain, same answer
    } finally {
      agent.destroy();
    }
  });

  it('validates its arguments', () => {
    expect(() => drainHttp({} as never)).toThrow(TypeError);
    const server = http.createServer();
    expect(() => drainHttp(server, { timeout: -1 })).toThrow(
      /timeout must be a finite number of ms >= 0, got -1/,
    );
    expect(() => drainHttp(server, { idleGrace: Number.NaN })).toThrow(RangeError);
  });
});
