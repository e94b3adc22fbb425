/**
 * The IPC benchmarks run end to end (through benchmarks/run.mjs, against the built dist/) with
 * `--quick`, exit 0, leave no worker behind, and write well-formed result files. Never asserts
 * timing: on a shared 2-core machine the numbers of a quick run mean nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const runner = fileURLToPath(new URL('../../benchmarks/run.mjs', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'clusterbus-bench-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

const measurement = {
  ops: expect.any(Number),
  opsPerSec: expect.any(Number),
  p50Us: expect.any(Number),
  p99Us: expect.any(Number),
};
const compared = {
  ...measurement,
  ratio: expect.any(Number),
  ratioP50: expect.any(Number),
  ratioP99: expect.any(Number),
};

function readResult(name: string) {
  const doc = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8'));
  expect(doc).toMatchObject({
    name,
    date: expect.any(String),
    node: process.version,
    cpus: expect.any(Number),
    quick: true,
    cases: expect.any(Array),
  });
  for (const entry of doc.cases) {
    expect(entry).toMatchObject({
      scenario: expect.any(String),
      serialization: expect.any(String),
      inFlight: expect.any(Number),
      raw: measurement,
      bus: compared,
    });
    expect(entry.raw.ops).toBeGreaterThan(0);
    expect(entry.bus.ops).toBeGreaterThan(0);
  }
  return doc;
}

describe('benchmarks/run.mjs --only=ipc- --quick', () => {
  it('runs every IPC benchmark and exits 0', { timeout: 120_000 }, async () => {
    const { stdout } = await run(process.execPath, [runner, '--only=ipc-', '--quick', `--out=${out}`], {
      timeout: 110_000,
      maxBuffer: 10 * 1024 * 1024,
    });
    for (const file of ['ipc-broadcast', 'ipc-call', 'ipc-callall', 'ipc-heap', 'ipc-overhead']) {
      expect(stdout).toContain(`ok   ${file}.bench.mjs`);
    }
  });

  it('writes the call scenario: 1, 64 and 256 in flight, json and advanced, against raw, coalesced raw and birpc', () => {
    const doc = readResult('ipc-call');
    const keys = doc.cases.map((entry: any) => `${entry.mode}/${entry.inFlight}/${entry.serialization}`);
    expect(keys.sort()).toEqual(
      [
        'pipelined/64/advanced',
        'pipelined/64/json',
        'pipelined/256/advanced',
        'pipelined/256/json',
        'sequential/1/advanced',
        'sequential/1/json',
      ].sort(),
    );
    for (const entry of doc.cases) {
      expect(entry['raw-coalesced']).toMatchObject(compared);
      expect(entry.birpc).toMatchObject(compared);
      expect(entry.bus.vs).toMatchObject({
        raw: expect.any(Number),
        'raw-coalesced': expect.any(Number),
        birpc: expect.any(Number),
      });
    }
    expect(doc.loadavg).toMatchObject({ start: expect.any(Array), end: expect.any(Array) });
  });

  it('writes the heap samples of many calls', () => {
    const doc = JSON.parse(readFileSync(join(out, 'ipc-heap.json'), 'utf8'));
    const [entry] = doc.cases;
    expect(entry.samples).toHaveLength(11);
    expect(entry.samples.at(-1)).toMatchObject({ calls: entry.calls, heapUsedMB: expect.any(Number) });
    expect(entry.growthMB).toEqual(expect.any(Number));
  });

  it.each(['ipc-broadcast', 'ipc-callall'])(
    'writes %s for 2 and 4 workers, both serializations, 1 and 64 in flight',
    (name) => {
      const doc = readResult(name);
      const keys = doc.cases.map((entry: any) => `${entry.workers}/${entry.serialization}/${entry.inFlight}`);
      const expected = ['2', '4'].flatMap((workers) =>
        ['advanced', 'json'].flatMap((serialization) =>
          [1, 64].map((inFlight) => `${workers}/${serialization}/${inFlight}`),
        ),
      );
      expect(keys.sort()).toEqual(expected.sort());
    },
  );

  it('writes the in-process overhead breakdown', () => {
    const doc = readResult('ipc-overhead');
    expect(doc.breakdown).toMatchObject({
      totalOverheadUs: expect.any(Number),
      zodUs: expect.any(Number),
      optionsObjectUs: expect.any(Number),
      restOfBusUs: expect.any(Number),
    });
    expect(Object.keys(doc.micro.nsPerOp).length).toBeGreaterThan(5);
  });
});
