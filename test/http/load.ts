/**
 * A real HTTP client load for the drain tests: `connections` loops of sequential GETs over a
 * keep-alive `http.Agent`, recording every failure and which pid answered when.
 */
import http from 'node:http';
import { createServer } from 'node:net';

/** One answered request. */
export interface Answer {
  pid: number;
  /** When the request was sent (ms since epoch). */
  sentAt: number;
}

/** A running load; `stop()` ends the loops and resolves with what they saw. */
export interface Load {
  answers: Answer[];
  failures: string[];
  stop(): Promise<{ answers: Answer[]; failures: string[] }>;
  /** Resolves once `n` more answers arrived. */
  waitForAnswers(n: number, timeoutMs?: number): Promise<void>;
}

/** One GET; resolves with status, headers and the parsed JSON body. */
export function get(port: number, path: string, agent: http.Agent | false) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => {
        try {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? JSON.parse(text) : undefined,
          });
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('client timeout after 15000 ms')));
  });
}

/** Starts `connections` request loops against `port`. */
export function startLoad(port: number, connections = 6, path = '/'): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const answers: Answer[] = [];
  const failures: string[] = [];
  const waiters = new Set<() => void>();
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const sentAt = Date.now();
      try {
        const { status, body } = await get(port, path, agent);
        if (status === 200) answers.push({ pid: body.pid, sentAt });
        else failures.push(`HTTP ${status}`);
      } catch (error) {
        failures.push(`${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`);
      }
      for (const wake of [...waiters]) wake();
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return {
    answers,
    failures,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return { answers, failures };
    },
    waitForAnswers(n, timeoutMs = 20_000) {
      const target = answers.length + n;
      return new Promise((resolve, reject) => {
        const check = () => {
          if (answers.length < target) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `load: fewer than ${n} answers within ${timeoutMs} ms (failures: ${failures.join(', ')})`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
      });
    },
  };
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
