/**
 * drainHttp against a real node:http (and node:https) server in this process and a real
 * keep-alive client.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** Wraps a handler so the test can wait until a request has really reached the server. */
function withArrival(handler: http.RequestListener) {
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const wrapped: http.RequestListener = (req, res) => {
    arrive();
    handler(req, res);
  };
  return { handler: wrapped, arrived };
}

/** A throwaway self-signed certificate for localhost, made with openssl in a temp dir. */
function selfSignedCert(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'clusterbus-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert].concat([
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
      ]),
      { stdio: 'ignore' },
    );
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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
    const { handler, arrived } = withArrival(reply);
    const { server, port } = await listen(handler);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const slow = get(port, '/?ms=500', agent);
      await arrived;
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
    const { handler, arrived } = withArrival(() => {}); // never answers
    const { server, port } = await listen(handler);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const hanging = get(port, '/', agent).catch((e) => e);
      await arrived;
      const result = await drainHttp(server, { timeout: 300 });
      expect(result).toMatchObject({ graceful: false, forced: 1 });
      expect((await hanging).code).toBe('ECONNRESET');
      expect(await drainHttp(server)).toBe(result); // same drain, same answer
    } finally {
      agent.destroy();
    }
  });

  it('leaves an upgraded (WebSocket-style) socket to the app until the deadline, not its idle grace', async () => {
    const { server, port } = await listen(reply);
    server.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    });
    const client = await new Promise<import('node:net').Socket>((resolve, reject) => {
      http
        .request({ port, host: '127.0.0.1', headers: { Connection: 'Upgrade', Upgrade: 'echo' } })
        .on('upgrade', (_res, socket) => resolve(socket))
        .on('error', reject)
        .end();
    });
    let closedAt = 0;
    client.on('close', () => {
      closedAt = Date.now();
    });
    client.on('error', () => {});
    const started = Date.now();
    const result = await drainHttp(server, { timeout: 600, idleGrace: 20 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(result).toMatchObject({ graceful: false, closedIdle: 0, forced: 1 });
    expect(closedAt - started).toBeGreaterThanOrEqual(550);
  });

  it('https: a slow request in flight on a TLS socket completes with 200 during the drain', async () => {
    const { handler, arrived } = withArrival(reply);
    const server = https.createServer(selfSignedCert(), handler);
    trackHttp(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
    try {
      const slow = new Promise<{ status: number; connection: string | undefined; body: string }>(
        (resolve, reject) => {
          const req = https.get({ host: '127.0.0.1', port, path: '/?ms=800', agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
              body += chunk;
            });
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
            );
            res.on('error', reject);
          });
          req.on('error', reject);
        },
      );
      await arrived;
      // The grace is far shorter than the request: a tracker that keyed the raw TCP socket would
      // see it idle and destroy it (the client would get ECONNRESET).
      const drained = drainHttp(server, { timeout: 5_000, idleGrace: 100 });
      const answer = await slow;
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ pid: process.pid });
      expect(answer.connection).toBe('close');
      expect(await drained).toMatchObject({ graceful: true, forced: 0 });
    } finally {
      agent.destroy();
      server.close();
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
