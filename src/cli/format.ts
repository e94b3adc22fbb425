/**
 * Terminal output of the command: colours only on a terminal that wants them (`NO_COLOR`,
 * `FORCE_COLOR` and `TERM=dumb` are honoured through `tty.WriteStream.hasColors()`), plain aligned
 * tables, and short human figures for durations and sizes.
 */

/** Colour functions; each returns its input unchanged when colours are off. */
export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** The style for `stream`: coloured only when it is a TTY that has colours. */
export function styleFor(
  stream: NodeJS.WritableStream & { isTTY?: boolean; hasColors?: () => boolean },
): Style {
  const enabled = stream.isTTY === true && typeof stream.hasColors === 'function' && stream.hasColors();
  const wrap = (open: number, close: number) =>
    enabled ? (text: string) => `\u001b[${open}m${text}\u001b[${close}m` : (text: string) => text;
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}

/** One table column. */
export interface Column<Row> {
  header: string;
  value(row: Row): string;
  /** Numbers read best right-aligned. @default 'left' */
  align?: 'left' | 'right';
  /** Colours the padded cell (applied after alignment, so escapes do not skew the widths). */
  color?(row: Row, cell: string): string;
}

/** Renders rows as an aligned table: a header line, then one line per row, two spaces between columns. */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[], style: Style): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => line[i]!.length)),
  );
  const pad = (text: string, i: number) =>
    columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const header = columns.map((column, i) => style.bold(pad(column.header, i)));
  const lines = cells.map((line, r) =>
    line.map((cell, i) => {
      const padded = pad(cell, i);
      const color = columns[i]!.color;
      return color ? color(rows[r]!, padded) : padded;
    }),
  );
  return [header, ...lines].map((line) => line.join('  ').trimEnd()).join('\n');
}

/** `850ms`, `12s`, `5m`, `3h`, `2d`: the largest whole unit, like `pm2 ls`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  if (s < 3_600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** `1.2 s` or `340 ms`: an elapsed time with one decimal. */
export function formatElapsed(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

/** `45.2 MB`; `-` when unknown. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '-';
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

/** `3.5%`; `-` when unknown. */
export function formatPercent(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}%`;
}
