/** examples/fleet runs as documented against a local nats-server and prints what it claims. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNats, stopAllNats } from '../helpers/nats.js';

const run = promisify(execFile);
const demo = fileURLToPath(new URL('../../examples/fleet/demo.mjs', import.meta.url));
let nats: NatsServer;

beforeAll(async () => {
  nats = await startNats();
});
afterAll(stopAllNats);

describe('examples/fleet', () => {
  it('two hosts: fleet-wide cache invalidation and a stats gather', async () => {
    const { stdout } = await run(process.execPath, [demo], {
      timeout: 120_000,
      env: { ...process.env, NATS_URL: nats.url },
    });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^fleet: east \(2 workers\), west \(2 workers\)$/);
    // Second read: every worker of both hosts answers from its cache.
    expect(lines[2]?.match(/: Ada \(cached\)/g)).toHaveLength(4);
    expect(lines[3]).toBe('invalidated user:1 on hosts east, west');
    expect(lines[4]?.match(/: Ada Lovelace( \(cached\))?/g)).toHaveLength(4);
    expect(lines[4]).not.toMatch(/: Ada( \(cached\))?( \||$)/);
    expect(lines[5]).toBe('west/1 user:2 → Grace');
    expect(
      lines.filter((line) => /^ {2}(east|west)\/\d: \{"host":"(east|west)","size":\d/.test(line)),
    ).toHaveLength(4);
    expect(lines.at(-1)).toBe('done.');
  });
});
