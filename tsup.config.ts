import { defineConfig } from 'tsup';

const shared = { sourcemap: true, target: 'node20', platform: 'node' } as const;

export default defineConfig([
  {
    ...shared,
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    // The configs build in parallel: this clean must spare what the other two write.
    clean: ['!cli.js*', '!auto/**'],
  },
  // The `clusterbus` command (package.json "bin").
  { ...shared, entry: { cli: 'src/cli/main.ts' }, format: ['esm'] },
  // The zero-code preload, loaded with --require in every worker: self-contained, so it never
  // require()s an ES-module-only dependency (nanoid), which Node before 20.19 cannot.
  {
    ...shared,
    entry: { 'auto/preload': 'src/auto/preload.ts' },
    format: ['cjs'],
    noExternal: ['nanoid', 'eventemitter3'],
  },
]);
