/**
 * What a real primary process prints: worker output prefixed line by line with `prefixOutput`,
 * and the default lifecycle lines on stderr.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/cluster.js';

function runPrimary(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixturePath('prefix-primary.ts')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`prefix-primary did not exit within 30 s; stdout: ${stdout}; stderr: ${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('worker output', { timeout: 90_000 }, () => {
  it('prefixOutput: every worker line gets its [id] prefix, half lines are joined, never interleaved', async () => {
    const { code, stdout, stderr } = await runPrimary({ LOG: '0' });
    expect(code).toBe(0);
    const outLines = stdout.split('\n').filter(Boolean);
    for (const id of [1, 2]) {
      const mine = outLines.filter((line) => line.startsWith(`[${id}] `));
      expect(mine).toEqual([
        `[${id}] hello from w${id}`,
        `[${id}] second line of w${id}`,
        `[${id}] half line of w${id}`,
      ]);
    }
    expect(outLines).toHaveLength(6); // nothing unprefixed, nothing split
    const errLines = stderr.split('\n').filter((line) => /^\[\d\] /.test(line));
    expect(errLines.sort()).toEqual(
      [
        '[1] an error line of w1',
        '[1] no newline at the end of w1',
        '[2] an error line of w2',
        '[2] no newline at the end of w2',
      ].sort(),
    );
  });

  it('by default the supervisor tells what it does on stderr, one [clusterbus] line per step', async () => {
    const { code, stderr } = await runPrimary({ LOG: '1' });
    expect(code).toBe(0);
    const ours = stderr.split('\n').filter((line) => line.startsWith('[clusterbus] '));
    expect(ours[0]).toMatch(/^\[clusterbus\] started 2 workers \(pids \d+, \d+\) in \d+ ms$/);
    expect(ours[1]).toMatch(/^\[clusterbus\] shutting down \(shutdown\)/);
    expect(ours[2]).toMatch(/^\[clusterbus\] shut down in \d+ ms: 2 workers drained$/);
    expect(ours).toHaveLength(3);
  });
});
