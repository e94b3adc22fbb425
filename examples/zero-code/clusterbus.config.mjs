// Read by `clusterbus start` (run with no script in this directory); the command line overrides it.
export default {
  script: './app.mjs',
  name: 'hello',
  instances: 2,
  env: { PORT: 3000 },
  drain: { timeout: 8_000 },
};
