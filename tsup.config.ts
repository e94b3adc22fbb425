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
  // The `clusterbus` command (package.json "bin"). zod (the control contract's schemas) is an
  // optional peer of the library, so the command carries its own copy: `npm i clusterbus` is enough.
  { ...shared, entry: { cli: 'src/cli/main.ts' }, format: ['esm'], noExternal: ['zod'] },
  // The zero-code preload, loaded with --require in every worker: self-contained, so it never
  // require()s a package the app's node_modules may not resolve the same way.
  {
    ...shared,
    entry: { 'auto/preload': 'src/auto/preload.ts' },
    format: ['cjs'],
    noExternal: ['eventemitter3'],
  },
]);
