/** The command's output helpers: colours only on a TTY that has them, aligned tables, short figures. */
import { WriteStream } from 'node:tty';
import { describe, expect, it } from 'vitest';
import { workerTable } from '../../src/cli/commands.js';
import { formatBytes, formatDuration, formatPercent, renderTable, styleFor } from '../../src/cli/format.js';

const plain = styleFor({ isTTY: false } as never);

describe('output', () => {
  it('colours only a TTY whose hasColors() says so (NO_COLOR, FORCE_COLOR, TERM=dumb decide there)', () => {
    expect(plain.enabled).toBe(false);
    expect(plain.red('x')).toBe('x');
    expect(styleFor({ isTTY: true, hasColors: () => false } as never).green('x')).toBe('x');
    const colored = styleFor({ isTTY: true, hasColors: () => true } as never);
    expect(colored.green('ok')).toBe('\u001b[32mok\u001b[39m');
    // What a real terminal stream answers under NO_COLOR (its hasColors reads the environment).
    const term = { TERM: 'xterm-256color' };
    expect(WriteStream.prototype.hasColors.call({}, 16, term)).toBe(true);
    expect(WriteStream.prototype.hasColors.call({}, 16, { ...term, NO_COLOR: '1' })).toBe(false);
  });

  it('renders aligned tables, numbers right-aligned, colours outside the padding', () => {
    const rows = [
      { name: 'api', n: 3 },
      { name: 'worker', n: 12 },
    ];
    const table = renderTable(
      [
        { header: 'name', value: (r) => r.name, color: (_r, cell) => `<${cell}>` },
        { header: 'count', value: (r) => String(r.n), align: 'right' },
      ],
      rows,
      plain,
    );
    expect(table).toBe(['name    count', '<api   >      3', '<worker>     12'].join('\n'));
  });

  it('formats durations, sizes and percentages like pm2 ls', () => {
    expect([500, 12_000, 300_000, 7_200_000, 200_000_000, undefined].map(formatDuration)).toEqual([
      '500ms',
      '12s',
      '5m',
      '2h',
      '2d',
      '-',
    ]);
    expect([2048, 60_907_520, 3 * 1024 ** 3, undefined].map(formatBytes)).toEqual([
      '2.0 KB',
      '58.1 MB',
      '3.00 GB',
      '-',
    ]);
    expect([0.42, 37.6, undefined].map(formatPercent)).toEqual(['0.4%', '38%', '-']);
  });

  it('the status table: a crash-looped slot shows as a stopped row without id, pid or uptime', () => {
    const table = workerTable(
      [
        {
          id: 4,
          pid: 100,
          slot: 0,
          state: 'ready',
          startedAt: 0,
          restarts: 1,
          inFlight: 2,
          uptime: 65_000,
          cpu: 3.2,
          memory: { rss: 50 * 1024 ** 2 },
        },
        { slot: 1, state: 'stopped', restarts: 5, inFlight: 0 },
      ],
      plain,
    );
    expect(table.split('\n')).toEqual([
      'id  pid  slot  state    restarts  uptime   cpu   memory  in flight',
      ' 4  100     0  ready           1      1m  3.2%  50.0 MB          2',
      ' -    -     1  stopped         5       -     -        -          0',
    ]);
  });
});
