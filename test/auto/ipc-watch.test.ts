/**
 * The preload's watch on outgoing IPC, in a real forked child: it sees a bus's hello (alone or in
 * a batch envelope) and PM2's 'ready', and every message still goes out unchanged.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('watchOutgoing', () => {
  it('reports hellos (also inside a batch) and "ready", and lets every message through untouched', async () => {
    const child = fork(fileURLToPath(new URL('../fixtures/auto/watch-child.ts', import.meta.url)), {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const received: any[] = [];
    child.on('message', (message) => received.push(message));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const report = received.at(-1);
    expect(report).toEqual({ report: [['hello', 'a'], ['hello', 'b'], 'ready'], sent: 5 });
    expect(received.slice(0, 5)).toEqual([
      { $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'a' } },
      {
        $cb: 1,
        k: 'batch',
        b: [
          { $cb: 1, k: 'res', id: '1' },
          { $cb: 1, k: 'ctl', c: 'hello', d: { instance: 'b' } },
        ],
      },
      'ready',
      { type: 'process:msg', data: {} },
      { $cb: 1, k: 'ctl', c: 'ready' },
    ]);
  });
});
