/**
 * A host whose NATS connection closes for good (the client gives up reconnecting, or was told not
 * to): its calls and gathers say so, instead of "reconnecting; retry shortly" for ever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBusError, type Supervisor } from '../../src/index.js';
import type { FleetContract } from '../fixtures/fleet-contract.js';
import { spawnHost, startLocalHost, stopAllHosts } from '../helpers/fleet.js';
import { type NatsServer, startNats, stopAllNats } from '../helpers/nats.js';

let nats: NatsServer;
let t: Supervisor<FleetContract>;

beforeAll(async () => {
  nats = await startNats();
  await spawnHost('a', nats.url);
  // Passed through to the client: no reconnect at all, so the first drop closes the connection.
  t = await startLocalHost('t', nats.url, { fleet: { reconnect: false } });
  await t.fleet.waitForHosts(2, { timeout: 15_000 });
}, 150_000);

afterAll(async () => {
  await stopAllHosts();
  await stopAllNats();
});

describe('a NATS connection closed for good', () => {
  it('fails calls and gathers with PEER_GONE saying so, and this host keeps serving locally', async () => {
    expect(await t.fleet.call({ host: 'a', id: 1 }, 'whoami')).toMatchObject({ host: 'a' });
    await nats.stop();
    const failure = async () => {
      const error = await t.fleet.call({ host: 'a', id: 1 }, 'whoami').then(
        () => undefined,
        (e: unknown) => e,
      );
      return isBusError(error) ? `${error.code} ${error.message}` : String(error);
    };
    await expect.poll(failure, { timeout: 10_000, interval: 50 }).toMatch(/^PEER_GONE .*closed for good/);
    const rows = await t.fleet.callAll('whoami', undefined, { timeout: 2_000 });
    expect(rows.find((row) => row.host === 't')).toMatchObject({ ok: true });
    const lost = rows.find((row) => row.host === 'a');
    expect(lost).toMatchObject({ ok: false, id: undefined });
    expect(lost?.ok === false && lost.error.message).toMatch(/closed for good/);
  });

  it('settles waitForHosts when the host leaves, even one that waits with no timeout', async () => {
    await expect(t.fleet.waitForHosts(9, { timeout: 2 ** 31 })).rejects.toThrow(RangeError);
    const waiting = t.fleet.waitForHosts(9, { timeout: 0 });
    await t.fleet.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED', message: /host t left the fleet/ });
    await expect(t.fleet.waitForHosts(1)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
