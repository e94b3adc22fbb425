/** The `--help` texts, one per command. */

const MAIN = `Usage: clusterbus <command> [options]

Run a Node app on every core, and operate it from another terminal.

Commands:
  start [script]         run the app in a supervised cluster, in the foreground
  ls                     list the running clusters of this user
  status <name>          one row per worker: pid, state, restarts, uptime, CPU, memory
  reload <name>          zero-downtime rolling reload; waits, exits 1 when aborted
  scale <name> <n|max>   grow or shrink the cluster to n workers
  stop <name>            graceful stop; waits for the primary to exit

Options:
  -h, --help             show help (also: clusterbus <command> --help)
  -v, --version          print the version

Exit codes: 0 done, 1 failed, 2 bad command line.`;

const START = `Usage: clusterbus start [script] [options] [-- script args...]

Runs <script> on -i workers under a supervisor, in the foreground: Ctrl-C or SIGTERM stops it
gracefully, SIGHUP reloads it. The app needs no clusterbus code: every worker counts as ready once
its HTTP servers listen, and drains them on reload and stop. An app that creates its own worker
bus and calls ready() keeps full control.

Without a script, the settings come from clusterbus.config.mjs, .js or .json in the working
directory; the options below override them.

Options:
  -i, --instances <n|max>  workers to run (default: max, one per core)
  -n, --name <name>        the cluster's name for ls/status/reload/stop (default: script base name)
  -e, --env KEY=VALUE      extra environment for the workers (repeatable)
  -c, --config <file>      read this config file
      --ready <mode>       when a worker is ready: listen (its HTTP servers listen; default),
                           message (it calls process.send('ready'), as with PM2's wait_ready),
                           start (at once; apps with no server)
      --ready-timeout <ms> how long a worker may take to be ready (default 30000)
      --drain-timeout <ms> how long a worker may take to drain before SIGKILL (default 10000)
      --node-arg <flag>    a Node flag for the workers, e.g. --node-arg=--max-old-space-size=512
      --no-prefix          print worker output as it is, without "<id>|<name> | "
  -h, --help               show this help`;

const LS = `Usage: clusterbus ls [--json]

Lists the running clusters of this user, one line each.

Options:
      --json   print the rows as JSON
  -h, --help   show this help`;

const STATUS = `Usage: clusterbus status <name> [--json]

One row per worker: id, pid, slot, state, restarts, uptime, CPU %, memory, calls in flight.

Options:
      --json   print the rows of cluster.status() as JSON
  -h, --help   show this help`;

const RELOAD = `Usage: clusterbus reload <name>

Replaces every worker, one at a time: the new one must be ready before the old one drains. Waits
until done and prints what was replaced. Exits 1 when the reload was aborted (a new worker failed
to start); the old workers then keep serving.

Options:
  -h, --help   show this help`;

const SCALE = `Usage: clusterbus scale <name> <n|max>

Starts or drains workers until the cluster runs n of them.

Options:
  -h, --help   show this help`;

const STOP = `Usage: clusterbus stop <name> [--timeout <ms>]

Stops the cluster gracefully: every worker drains (in-flight requests finish), then the primary
exits. Waits for the primary to be gone.

Options:
      --timeout <ms>  drain deadline before workers are SIGKILLed (default: the cluster's)
  -h, --help          show this help`;

/** Help text by command; `''` is the overview. */
export const HELP: Readonly<Record<string, string>> = {
  '': MAIN,
  start: START,
  ls: LS,
  status: STATUS,
  reload: RELOAD,
  scale: SCALE,
  stop: STOP,
};
