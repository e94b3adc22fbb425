/**
 * The settings of zero-code mode, as the `clusterbus` command hands them to the preload in every
 * worker: environment variables, because they survive `cluster.fork` and the preload runs before
 * any code that could receive them otherwise.
 */

/** When a zero-code worker counts as ready. */
export type ReadyMode = 'listen' | 'message' | 'start';

/** The ready modes, for help texts and validation. */
export const READY_MODES: readonly ReadyMode[] = ['listen', 'message', 'start'];

/** `listen` (default), `message` or `start`: see {@link ReadyMode}. */
export const READY_ENV = 'CLUSTERBUS_AUTO_READY';
/** The drain's `idleGrace` in ms (default 500). */
export const IDLE_GRACE_ENV = 'CLUSTERBUS_AUTO_IDLE_GRACE';
/** Set to `1` by the command in every worker it starts with the preload. */
export const AUTO_ENV = 'CLUSTERBUS_AUTO';

/** The preload's resolved settings. */
export interface AutoSettings {
  ready: ReadyMode;
  idleGrace: number;
}

/** Reads the settings; an unknown value falls back to the default with a process warning. */
export function readAutoSettings(env: NodeJS.ProcessEnv = process.env): AutoSettings {
  const ready = env[READY_ENV] ?? 'listen';
  const grace = env[IDLE_GRACE_ENV] === undefined ? 500 : Number(env[IDLE_GRACE_ENV]);
  const settings: AutoSettings = { ready: 'listen', idleGrace: 500 };
  if ((READY_MODES as readonly string[]).includes(ready)) settings.ready = ready as ReadyMode;
  else
    process.emitWarning(
      `clusterbus: ${READY_ENV}=${ready} is not one of ${READY_MODES.join(', ')}; using listen`,
    );
  if (Number.isFinite(grace) && grace >= 0) settings.idleGrace = grace;
  else
    process.emitWarning(
      `clusterbus: ${IDLE_GRACE_ENV}=${env[IDLE_GRACE_ENV]} is not a number of ms; using 500`,
    );
  return settings;
}
