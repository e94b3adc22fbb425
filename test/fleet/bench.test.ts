/**
 * benchmarks/fleet.bench.mjs runs end to end with `--quick` (its own nats-server, a remote host
 * process, against the built dist/), exits 0 and writes a well-formed result. Never asserts timing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bench = fileURLToPath(new URL('../../benchmarks/fleet.bench.mjs', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'clusterbus-fleet-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const measured = {
  ops: expect.any(Number),
  opsPerSec: expect.any(Number),
  p50Us: expect.any(Number),
  p99Us: expect.any(Number),
};
const compared = {
  ...measured,
  ratio: expect.any(Number),
  ratioP50: expect.any(Number),
  ratioP99: expect.any(Number),
};

describe('benchmarks/fleet.bench.mjs --quick', () => {
  it('compares fleet.call with raw NATS and local IPC, sequential and pipelined', {
    timeout: 150_000,
  }, async () => {
    await run(process.execPath, [bench, '--quick', `--out=${out}`], { timeout: 140_000 });
    const doc = JSON.parse(readFileSync(join(out, 'fleet.json'), 'utf8'));
    expect(doc).toMatchObject({ name: 'fleet', quick: true, loadAverage: expect.any(Array) });
    expect(doc.cases.map((c: { mode: string; inFlight: number }) => `${c.mode}/${c.inFlight}`)).toEqual([
      'sequential/1',
      'pipelined/64',
    ]);
    for (const entry of doc.cases) {
      expect(entry).toMatchObject({
        'nats-request': measured,
        'raw-publish': compared,
        fleet: compared,
        'local-ipc': compared,
        fleetVsRawPublish: expect.any(Number),
      });
      expect(entry.fleet.ops).toBeGreaterThan(0);
    }
  });
});
