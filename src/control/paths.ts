/**
 * Where control sockets live: one Unix domain socket per running cluster, named after the
 * cluster, in a directory only its user can enter. The directory's permissions are the access
 * control (a Unix socket has no password): it is created `0700`, and an existing one that another
 * user owns or that others can enter is refused rather than used.
 */
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Overrides the directory of the control sockets. */
export const HOME_ENV = 'CLUSTERBUS_HOME';

/** Cluster names: they become file names, so a conservative set of characters. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SUFFIX = '.sock';
/** `sun_path` is 108 bytes on Linux (104 on macOS), terminating NUL included. */
const MAX_SOCKET_PATH = 103;

function uid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/**
 * The control directory: `$CLUSTERBUS_HOME`, else `$XDG_RUNTIME_DIR/clusterbus`, else
 * `<tmpdir>/clusterbus-<uid>`. The uid in the shared temp dir keeps users apart.
 */
export function controlHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env[HOME_ENV];
  if (home) return home;
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime) return join(runtime, 'clusterbus');
  return join(tmpdir(), `clusterbus-${uid() ?? 'user'}`);
}

/**
 * Throws a TypeError unless `name` can name a cluster (letters, digits, `.`, `_`, `-`; at most 64
 * characters; starting with a letter or digit).
 */
export function assertClusterName(name: unknown, where = 'name'): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(
      `${where} must be 1-64 letters, digits, ".", "_" or "-" starting with a letter or digit, got ${JSON.stringify(name)}`,
    );
  }
}

/**
 * The socket path of cluster `name` in `home`.
 * @throws TypeError for a bad name or a path too long for a Unix socket.
 */
export function socketPath(name: string, home: string): string {
  assertClusterName(name);
  const path = join(home, `${name}${SUFFIX}`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new TypeError(
      `the control socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes, which Unix sockets do not allow; set ${HOME_ENV} to a shorter directory or use a shorter name`,
    );
  }
  return path;
}

/**
 * Creates the control directory (`0700`) if needed and checks that it is safe to use: a real
 * directory, owned by this user, that nobody else can enter.
 * @throws Error saying what is wrong and what to do.
 */
export function ensureControlHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const stat = lstatSync(home);
  if (!stat.isDirectory()) {
    throw new Error(
      `the control directory ${home} is not a directory (a symlink or a file); remove it or set ${HOME_ENV}`,
    );
  }
  const me = uid();
  if (me !== undefined && stat.uid !== me) {
    throw new Error(
      `the control directory ${home} belongs to uid ${stat.uid}, not to you (uid ${me}); set ${HOME_ENV} to a directory of your own`,
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new Error(
      `the control directory ${home} can be entered by other users (mode ${(stat.mode & 0o777).toString(8)}); run \`chmod 700 ${home}\` or set ${HOME_ENV}`,
    );
  }
}

/** Names of the clusters that have a socket in `home` (live or stale), sorted. */
export function socketNames(home: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(home);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.endsWith(SUFFIX))
    .map((entry) => entry.slice(0, -SUFFIX.length))
    .filter((name) => NAME.test(name))
    .sort();
}
