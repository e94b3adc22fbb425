/** The built package (dist/) loads through `import` and `require` by its name, and makes real calls. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fixturePath } from './helpers/cluster.js';

const run = promisify(execFile);

describe('the built package', () => {
  it('has been built (npm test builds it before the suite)', () => {
    expect(existsSync(new URL('../dist/index.js', import.meta.url)), 'run `npm run build` first').toBe(true);
    expect(existsSync(new URL('../dist/index.cjs', import.meta.url))).toBe(true);
    expect(existsSync(new URL('../dist/index.d.ts', import.meta.url))).toBe(true);
    expect(existsSync(new URL('../dist/index.d.cts', import.meta.url))).toBe(true);
  });

  it.each([
    ['require', 'package-app.cjs', 'cjs'],
    ['import', 'package-app.mjs', 'esm'],
  ])('loads through %s and makes a real cluster call', async (_how, file, format) => {
    const { stdout } = await run(process.execPath, [fixturePath(file)], { timeout: 20_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ format, doubled: 42, code: 'VALIDATION' });
  });
});
