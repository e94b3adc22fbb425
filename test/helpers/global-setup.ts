/**
 * Suite-wide guard: after every test file ran, no fixture process may still be alive. A test run
 * that leaves orphans fails here, naming them.
 */
import { execFileSync } from 'node:child_process';

const FIXTURE_MARK = `${process.cwd()}/test/fixtures/`;

function strayFixtures(): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(FIXTURE_MARK) && !line.includes('ps -eo'))
    .map((line) => line.trim());
}

export default function setup(): () => Promise<void> {
  return async () => {
    // Workers told to exit a moment ago may still be on their way out.
    let strays = strayFixtures();
    for (let i = 0; i < 20 && strays.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      strays = strayFixtures();
    }
    if (strays.length > 0) {
      for (const line of strays) {
        const pid = Number.parseInt(line, 10);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      throw new Error(
        `the test run left ${strays.length} fixture process(es) running:\n${strays.join('\n')}`,
      );
    }
  };
}
