/**
 * The zero-code preload. `clusterbus start` adds `--require <this file, built as CommonJS>` to
 * every worker's Node flags: a `--require` preload runs before the app in CommonJS and ES module
 * apps alike, on every Node 20 release (`--import` needs 20.6), and the build bundles what it
 * uses so it never `require()`s an ES-module-only package (which Node before 20.19 cannot).
 *
 * It does nothing outside a worker started by the command.
 */
import cluster from 'node:cluster';
import { SUPERVISED_ENV } from '../bus/worker-lifecycle.js';
import { AUTO_ENV, readAutoSettings } from './settings.js';
import { ZeroCodeWorker } from './zero-code.js';

if (
  cluster.isWorker &&
  process.env[SUPERVISED_ENV] === '1' &&
  process.env[AUTO_ENV] === '1' &&
  typeof process.send === 'function'
) {
  new ZeroCodeWorker(readAutoSettings()).start();
}
