/**
 * The socket transport over a real Unix domain socket: buses talk through it both ways, frames
 * split or merged by the stream arrive whole, and a broken peer (oversized frame, not JSON, reset)
 * closes the link with PEER_GONE instead of crashing or hanging.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPrimaryBus, createWorkerBus, defineContract, isBusError } from '../../src/index.js';
import { socketTransport } from '../../src/transports/socket.js';

const contract = defineContract({
  worker: { double: { input: z.number(), output: z.number() } },
  primary: {
    echo: { input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) },
    wait: { input: z.number(), output: z.number() },
  },
  events: { note: z.object({ n: z.number() }) },
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A listening Unix socket server in a fresh temp dir and a client connected to it. */
async function socketPair(): Promise<{ server: Server; serverSide: Socket; client: Socket }> {
  const dir = mkdtempSync(join(tmpdir(), 'cb-sock-'));
  const path = join(dir, 's.sock');
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = connect(path);
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const serverSide = await accepted;
  cleanups.push(() => {
    client.destroy();
    serverSide.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { server, serverSide, client };
}

async function busesOverSocket() {
  const { serverSide, client } = await socketPair();
  const primary = createPrimaryBus(contract, {
    autoAttach: false,
    handlers: {
      echo: ({ text }) => ({ text: text.toUpperCase() }),
      wait: (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
    },
  });
  primary.attachTransport(1, socketTransport(serverSide));
  const worker = createWorkerBus(contract, {
    transport: socketTransport(client),
    handlers: { double: (n) => n * 2 },
    ignoreSignals: false,
    exitAfterDrain: false,
  });
  cleanups.push(() => primary.close());
  cleanups.push(() => worker.close());
  return { primary, worker, serverSide, client };
}

describe('socketTransport', () => {
  it('carries validated calls both ways and events', async () => {
    const { primary, worker } = await busesOverSocket();
    expect(await worker.call('echo', { text: 'hi' })).toEqual({ text: 'HI' });
    expect(await primary.call(1, 'double', 21)).toBe(42);
    const error = await worker.call('echo', { text: 5 } as never).catch((e) => e);
    expect(isBusError(error) && error.code).toBe('VALIDATION');
    const got = new Promise((resolve) => primary.once('note', (payload) => resolve(payload)));
    await worker.emit('note', { n: 7 });
    expect(await got).toEqual({ n: 7 });
  });

  it('many messages in flight arrive whole and in order (the stream merges and splits frames)', async () => {
    const { worker } = await busesOverSocket();
    const texts = Array.from({ length: 500 }, (_, i) => `${i}:${'x'.repeat(i * 37)}`);
    const answers = await Promise.all(texts.map((text) => worker.call('echo', { text })));
    expect(answers.map((a) => a.text)).toEqual(texts.map((t) => t.toUpperCase()));
  });

  it('reassembles a frame written one byte at a time', async () => {
    const { serverSide, client } = await socketPair();
    const transport = socketTransport(serverSide);
    const received = new Promise((resolve) => transport.onMessage(resolve));
    const body = Buffer.from(JSON.stringify({ hello: 'wörld' }));
    const frame = Buffer.concat([Buffer.alloc(4), body]);
    frame.writeUInt32BE(body.length, 0);
    for (const byte of frame) {
      client.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await received).toEqual({ hello: 'wörld' });
    transport.dispose();
  });

  it('a value JSON cannot carry fails its send with VALIDATION and the link keeps working', async () => {
    const { serverSide, client } = await socketPair();
    const a = socketTransport(serverSide);
    const b = socketTransport(client);
    const error = await a.send({ $cb: 1, k: 'evt', n: 'x', p: 10n } as never).catch((e) => e);
    expect(isBusError(error) && error.code).toBe('VALIDATION');
    const received = new Promise((resolve) => b.onMessage(resolve));
    await a.send({ $cb: 1, k: 'evt', n: 'x', p: 1 });
    expect(await received).toEqual({ $cb: 1, k: 'evt', n: 'x', p: 1 });
    a.dispose();
    b.dispose();
  });

  it('an oversized incoming frame closes the link: pending calls fail with PEER_GONE', async () => {
    const { serverSide, client } = await socketPair();
    const worker = createWorkerBus(contract, {
      transport: socketTransport(client, { maxFrameBytes: 64 }),
      ignoreSignals: false,
      exitAfterDrain: false,
    });
    cleanups.push(() => worker.close());
    const pending = worker.call('echo', { text: 'a' }, { timeout: 20_000 });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000, 0);
    serverSide.write(header);
    const error = await pending.catch((e) => e);
    expect(isBusError(error) && error.code).toBe('PEER_GONE');
    expect(error.message).toMatch(/frame of 1000 bytes, over the limit of 64/);
  });

  it('a frame that is not JSON closes the link with a reason', async () => {
    const { serverSide, client } = await socketPair();
    const transport = socketTransport(client);
    const closed = new Promise<string>((resolve) => transport.onClose(resolve));
    const body = Buffer.from('{not json');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length, 0);
    serverSide.write(Buffer.concat([header, body]));
    expect(await closed).toMatch(/not JSON/);
    expect(transport.closed).toBe(true);
    const error = await transport.send({ $cb: 1, k: 'evt', n: 'x' }).catch((e) => e);
    expect(isBusError(error) && error.code).toBe('PEER_GONE');
  });

  it('the other end going away fails pending calls with PEER_GONE at once', async () => {
    const { worker, serverSide } = await busesOverSocket();
    expect(await worker.call('wait', 1)).toBe(1);
    const pending = worker.call('wait', 60_000, { timeout: 0 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    serverSide.destroy();
    const error = await pending.catch((e) => e);
    expect(isBusError(error) && error.code).toBe('PEER_GONE');
  });

  it('checks its options eagerly', async () => {
    const { client } = await socketPair();
    expect(() => socketTransport(client, { maxFrameBytes: 0 })).toThrow(RangeError);
    expect(() => socketTransport({} as never)).toThrow(TypeError);
  });
});
