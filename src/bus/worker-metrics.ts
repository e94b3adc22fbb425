/**
 * The worker's answer to the supervisor's status sampler (`metrics` control): heap used,
 * event-loop delay and, for systems where the primary cannot read `/proc`, its own CPU time and
 * RSS. The event-loop histogram starts on the first request, so a worker no supervisor samples
 * pays nothing.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Resolution of the event-loop delay histogram, in ms (its timer is unref'd by Node). */
const RESOLUTION_MS = 10;

/** Returns the function that builds one answer (and restarts the delay measurement). */
export function createMetricsReporter(): () => Record<string, number> {
  let histogram: IntervalHistogram | undefined;
  return () => {
    if (!histogram) {
      histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      histogram.enable();
    }
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    // The histogram counts from the timer's resolution up: subtract it so an idle loop reads ~0.
    const p99 = histogram.count > 0 ? histogram.percentile(99) / 1e6 - RESOLUTION_MS : 0;
    histogram.reset();
    return {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      cpuMicros: cpu.user + cpu.system,
      eventLoopDelay: Math.max(0, p99),
    };
  };
}
