/**
 * The config file, clusterbus's answer to PM2's ecosystem file: `clusterbus.config.mjs`, `.js`
 * or `.json` in the working directory, one app per file. Its contents are validated, and each
 * error names the file and the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { READY_MODES } from '../auto/settings.js';
import { assertClusterName } from '../control/paths.js';
import { CommandError } from './args.js';

/** Looked for in this order. */
export const CONFIG_FILES = ['clusterbus.config.mjs', 'clusterbus.config.js', 'clusterbus.config.json'];

const ms = z.number().int().min(0);
const positiveMs = z.number().int().min(1);

const Schema = z.strictObject({
  /** The app's entry script, relative to the working directory. */
  script: z.string().min(1).optional(),
  /** The cluster's name (default: the script's base name). */
  name: z.string().optional(),
  /** Worker count, or `"max"` for one per core. */
  instances: z.union([z.number().int().min(1).max(4096), z.literal('max')]).optional(),
  /** Extra environment of the workers; numbers and booleans are turned into strings. */
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Arguments of the script. */
  args: z.array(z.string()).optional(),
  /** Node flags of the workers, e.g. `["--max-old-space-size=512"]`. */
  nodeArgs: z.array(z.string()).optional(),
  /** Working directory of the workers, relative to the config file's directory. */
  cwd: z.string().optional(),
  /** When a zero-code worker counts as ready. */
  ready: z.enum(READY_MODES as [string, ...string[]]).optional(),
  /** How long a new worker may take to become ready, in ms. */
  readyTimeout: positiveMs.optional(),
  /** Prefix every worker line with `<id>|<name> | `. */
  prefix: z.boolean().optional(),
  reload: z
    .strictObject({
      parallel: z.number().int().min(1).optional(),
      probation: ms.optional(),
      readyTimeout: positiveMs.optional(),
    })
    .optional(),
  drain: z
    .strictObject({
      timeout: ms.optional(),
      idleGrace: ms.optional(),
    })
    .optional(),
});

/** A validated config file. */
export interface ClusterConfig {
  script?: string;
  name?: string;
  instances?: number | 'max';
  env?: Record<string, string>;
  args?: string[];
  nodeArgs?: string[];
  cwd?: string;
  ready?: (typeof READY_MODES)[number];
  readyTimeout?: number;
  prefix?: boolean;
  reload?: { parallel?: number; probation?: number; readyTimeout?: number };
  drain?: { timeout?: number; idleGrace?: number };
}

/** The first config file in `dir`, if any. */
export function findConfig(dir: string): string | undefined {
  for (const name of CONFIG_FILES) {
    const path = resolve(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/**
 * Loads and validates a config file.
 * @throws CommandError naming the file and the field.
 */
export async function loadConfig(path: string): Promise<ClusterConfig> {
  const file = basename(path);
  let raw: unknown;
  if (path.endsWith('.json')) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new CommandError(`cannot read ${path}: ${(error as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new CommandError(`${file} is not valid JSON: ${(error as Error).message}`);
    }
  } else {
    let mod: { default?: unknown };
    try {
      mod = await import(pathToFileURL(path).href);
    } catch (error) {
      throw new CommandError(`cannot load ${file}: ${(error as Error).message}`);
    }
    if (!('default' in mod)) throw new CommandError(`${file} must export the config as its default export`);
    raw = mod.default;
  }
  return validateConfig(raw, file);
}

/**
 * Checks a config object.
 * @throws CommandError naming `file` and the field.
 */
export function validateConfig(raw: unknown, file: string): ClusterConfig {
  if (typeof raw === 'object' && raw !== null && 'apps' in raw) {
    throw new CommandError(
      `${file}: "apps" is the layout of PM2's ecosystem file; a clusterbus config describes one app, with its settings (script, name, instances, env, …) at the top level`,
    );
  }
  const result = Schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const field = [...issue.path.map(String), issue.keys[0]].join('.');
      const known = Object.keys(at ? nestedShape(at) : Schema.shape).join(', ');
      throw new CommandError(`${file}: "${field}" is not a setting clusterbus knows (known: ${known})`);
    }
    if (!at) throw new CommandError(`${file}: the config must be an object, got ${describe(raw)}`);
    const what =
      issue.code === 'invalid_union'
        ? (UNION_HINTS[String(issue.path[0])] ?? 'has a value of the wrong type')
        : issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
    const got = /received/.test(what) ? '' : `, got ${preview(valueAt(raw, issue.path))}`;
    throw new CommandError(`${file}: "${at}" ${what}${got}`);
  }
  if (result.data.name !== undefined) {
    try {
      assertClusterName(result.data.name, `${file}: "name"`);
    } catch (error) {
      throw new CommandError((error as Error).message);
    }
  }
  const config = result.data as Omit<ClusterConfig, 'env'> & {
    env?: Record<string, string | number | boolean>;
  };
  const env = config.env && Object.fromEntries(Object.entries(config.env).map(([k, v]) => [k, String(v)]));
  return { ...config, env } as ClusterConfig;
}

/** What a field of several accepted types takes (zod's own message only says "invalid input"). */
const UNION_HINTS: Record<string, string> = {
  instances: 'must be a positive integer or "max"',
  env: 'must be a string, a number or a boolean',
};

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let value = raw;
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  return value;
}

function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return typeof value;
  }
}

function nestedShape(key: string): Record<string, unknown> {
  const field = Schema.shape[key as keyof typeof Schema.shape];
  const inner = (field as { unwrap?: () => { shape?: Record<string, unknown> } }).unwrap?.();
  return inner?.shape ?? {};
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
