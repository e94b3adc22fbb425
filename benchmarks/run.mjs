/**
 * Runs every `benchmarks/*.bench.mjs` in sequence, each in its own node process (so one
 * scenario's workers, timers and JIT state never leak into the next), and prints their output.
 * Exits non-zero when any of them failed.
 *
 *   node benchmarks/run.mjs [--only=<substring>] [any flags for the benchmarks, e.g. --quick]
 *
 * `--only=ipc-` runs just the files whose name contains `ipc-`; every other flag is passed through.
 * Benchmarks import the built package, so build first (`npm run bench` does).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const only = argv.filter((arg) => arg.startsWith('--only=')).map((arg) => arg.slice('--only='.length));
const passThrough = argv.filter((arg) => !arg.startsWith('--only='));

if (!existsSync(join(here, '..', 'dist', 'index.js'))) {
  console.error(
    'benchmarks/run.mjs: dist/index.js is missing; run `npm run build` first (or `npm run bench`)',
  );
  process.exit(1);
}

const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.mjs'))
  .filter((name) => only.length === 0 || only.some((part) => name.includes(part)))
  .sort();

if (files.length === 0) {
  console.error(`benchmarks/run.mjs: no benchmark matched ${only.join(', ') || '*.bench.mjs'}`);
  process.exit(1);
}

function runOne(file) {
  return new Promise((resolveRun) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(here, file), ...passThrough], { stdio: 'inherit' });
    child.on('error', (error) => resolveRun({ file, ok: false, why: error.message, started }));
    child.on('exit', (code, signal) =>
      resolveRun({
        file,
        ok: code === 0,
        why: signal ? `killed by ${signal}` : `exit code ${code}`,
        seconds: (performance.now() - started) / 1000,
      }),
    );
  });
}

const outcomes = [];
for (const file of files) {
  console.log(`\n=== ${file} ${passThrough.join(' ')}`.trimEnd());
  outcomes.push(await runOne(file));
}

console.log('\n=== summary');
for (const { file, ok, why, seconds } of outcomes) {
  console.log(
    `  ${ok ? 'ok  ' : 'FAIL'} ${file}${seconds === undefined ? '' : ` (${seconds.toFixed(1)} s)`}${ok ? '' : `: ${why}`}`,
  );
}
const failed = outcomes.filter((outcome) => !outcome.ok);
if (failed.length > 0) {
  console.error(`${failed.length} of ${outcomes.length} benchmarks failed`);
  process.exit(1);
}
