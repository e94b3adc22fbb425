/**
 * A real nats-server for the fleet tests, on a random loopback port (read from its log line), and
 * restartable on the same port. Every server started is stopped by {@link stopAllNats}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';

// Debian's package puts it in /usr/sbin (not on every user's PATH); elsewhere, whatever PATH finds.
const NATS_SERVER =
  process.env.NATS_SERVER_BIN ??
  (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');
const started = new Set<ChildProcess>();

/** One running nats-server. */
export interface NatsServer {
  readonly port: number;
  /** `127.0.0.1:<port>`, as `fleet.servers` takes it. */
  readonly url: string;
  /** Stops it (SIGKILL when `hard`) and starts a new one on the same port. */
  restart(options?: { hard?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

function launch(port: number | undefined, extra: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port ?? -1), ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`nats-server exited with code ${code}:\n${log}`)));
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /Listening for client connections on [\d.]+:(\d+)\r?\n/.exec(log);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.once('exit', () => started.delete(child));
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve({ child, port: Number(match[1]) });
      }
    });
  });
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** Starts a nats-server on a random loopback port. `extra` adds flags (e.g. `--max_payload`). */
export async function startNats(extra: string[] = []): Promise<NatsServer> {
  let { child, port } = await launch(undefined, extra);
  return {
    port,
    get url() {
      return `127.0.0.1:${port}`;
    },
    async restart({ hard = false } = {}) {
      await kill(child, hard ? 'SIGKILL' : 'SIGTERM');
      // The port was just freed; a short retry loop covers a slow release.
      for (let attempt = 0; ; attempt++) {
        try {
          ({ child, port } = await launch(port, extra));
          return;
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    stop: () => kill(child, 'SIGKILL'),
  };
}

/** Stops every server still running. */
export async function stopAllNats(): Promise<void> {
  await Promise.all([...started].map((child) => kill(child, 'SIGKILL')));
}
