/** examples/zero-code runs as its README says: the command reads the config file there. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../http/load.js';
import { useCli } from './run.js';

const cli = useCli();
const dir = fileURLToPath(new URL('../../examples/zero-code/', import.meta.url));

describe('examples/zero-code', { timeout: 120_000 }, () => {
  it('start (from its config file), answer, reload, stop', async () => {
    const port = await freePort();
    const app = cli.start(['--env', `PORT=${port}`], { cwd: dir });
    await app.waitFor(/started 2 workers/);
    expect(app.lines).toContainEqual(
      expect.stringMatching(new RegExp(`^\\d+\\|hello \\| listening on http://localhost:${port}$`)),
    );
    const response = await fetch(`http://127.0.0.1:${port}/hello/Ada`);
    expect(await response.text()).toMatch(/^Hello Ada! \(pid \d+\)\n$/);
    const before = await cli.pids('hello');
    const reload = await cli.run(['reload', 'hello']);
    expect(reload.code).toBe(0);
    const after = await cli.pids('hello');
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    expect((await cli.run(['stop', 'hello'])).code).toBe(0);
    expect(await app.exited).toBe(0);
  });
});
