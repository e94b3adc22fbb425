/**
 * The CommonJS build loads on every Node line `engines` allows, including those without
 * `require(esm)` (20.0–20.18, 22.0–22.11): every package `dist/index.cjs` requires must have a
 * CommonJS entry of its own. (.ci/run also runs the packed package on a real Node 20.0.)
 */
import { readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  files?: string[];
};

/** The bare package names a CommonJS file passes to `require()` (Node's builtins excluded). */
function requiredPackages(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
    const specifier = match[1]!;
    if (isBuiltin(specifier)) continue;
    const parts = specifier.split('/');
    names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return [...names].sort();
}

/** True when `require(name)` works without `require(esm)`: its resolved entry is CommonJS. */
function hasCommonJsEntry(name: string): boolean {
  const require = createRequire(new URL('dist/index.cjs', root));
  const entry = require.resolve(name);
  if (entry.endsWith('.mjs')) return false;
  if (entry.endsWith('.cjs')) return true;
  // A .js file is CommonJS unless the nearest package.json says "type": "module".
  let dir = new URL('./', `file://${entry}`);
  for (;;) {
    try {
      const meta = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { type?: string };
      return meta.type !== 'module';
    } catch {
      const parent = new URL('../', dir);
      if (parent.href === dir.href) return true;
      dir = parent;
    }
  }
}

describe('the CommonJS build', () => {
  const source = readFileSync(new URL('dist/index.cjs', root), 'utf8');

  it('requires only packages that are declared and have a CommonJS entry', () => {
    const required = requiredPackages(source);
    const declared = { ...pkg.dependencies, ...pkg.peerDependencies };
    for (const name of required) {
      expect(
        declared,
        `dist/index.cjs requires "${name}", which package.json does not declare`,
      ).toHaveProperty(name);
      expect(hasCommonJsEntry(name), `"${name}" is ESM-only: require() fails on Node < 20.19 / 22.12`).toBe(
        true,
      );
    }
  });

  it('does not need zod at run time: zod is an optional peer dependency', () => {
    expect(requiredPackages(source)).not.toContain('zod');
    expect(pkg.dependencies ?? {}).not.toHaveProperty('zod');
    expect(pkg.peerDependencies).toHaveProperty('zod');
    expect(pkg.peerDependenciesMeta?.zod?.optional).toBe(true);
  });

  it('ships the LICENSE file', () => {
    expect(pkg.files).toContain('LICENSE');
    expect(readFileSync(new URL('LICENSE', root), 'utf8')).toMatch(/^MIT License/);
  });
});
