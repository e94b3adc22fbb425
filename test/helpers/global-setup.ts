/**
 * Suite-wide guard: after every test file ran, no process this test run started may still be
 * alive. Each run tags its processes with an environment variable (inherited by every fork), so
 * the guard finds orphans even after they were re-parented, and never touches another run's.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

const RUN_TAG = 'CLUSTERBUS_TEST_RUN';

/** Pids (other than ours) whose environment carries this run's tag. Linux only: elsewhere, none. */
function processesOfRun(runId: string): Array<{ pid: number; command: string }> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!environ.split('\0').includes(`${RUN_TAG}=${runId}`)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid, command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

export default function setup(): () => Promise<void> {
  const runId = randomUUID();
  process.env[RUN_TAG] = runId;
  return async () => {
    // Test worker processes of vitest itself are leaving too; give everything a moment.
    let strays = processesOfRun(runId);
    for (let i = 0; i < 30 && strays.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      strays = processesOfRun(runId);
    }
    if (strays.length === 0) return;
    for (const { pid } of strays) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    // A throw here is only logged by vitest; the exit code is what makes the run fail.
    process.exitCode = 1;
    throw new Error(
      `the test run left ${strays.length} process(es) running:\n${strays.map((s) => `${s.pid} ${s.command}`).join('\n')}`,
    );
  };
}
