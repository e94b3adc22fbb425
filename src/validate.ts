/**
 * Runs a Standard Schema and turns a failure into a VALIDATION error that names the side, the
 * method and the path of the first bad field. Stays synchronous when the schema is, so the common
 * call path does not pay for an extra promise.
 */
import { ValidationError } from './errors.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** Where a validation happened, for the error message. */
export interface ValidationSite {
  /** `input`, `output` or `payload`. */
  what: 'input' | 'output' | 'payload';
  /** e.g. `call "stats"` or `event "drain"`. */
  subject: string;
  /** e.g. `on the primary before sending`. */
  side: string;
}

/**
 * Validates `value`; returns the parsed value (sync or as a promise) or throws/rejects VALIDATION.
 * Pass `site` as a function on hot paths: it is only needed to word a failure.
 */
export function validate(
  schema: StandardSchemaV1 | undefined,
  value: unknown,
  site: ValidationSite | (() => ValidationSite),
): unknown | Promise<unknown> {
  if (schema === undefined) {
    if (value === undefined || value === null) return undefined;
    throw validationError(site, [{ message: 'expected no value (the procedure declares no input)' }]);
  }
  let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>;
  try {
    result = schema['~standard'].validate(value);
  } catch (error) {
    throw validationError(
      site,
      [{ message: `schema threw: ${(error as Error)?.message ?? String(error)}` }],
      error,
    );
  }
  if (result instanceof Promise) return result.then((settled) => unwrap(settled, site));
  return unwrap(result, site);
}

function unwrap(
  result: StandardSchemaV1.Result<unknown>,
  site: ValidationSite | (() => ValidationSite),
): unknown {
  if (result.issues) throw validationError(site, result.issues);
  return result.value;
}

function validationError(
  siteOrThunk: ValidationSite | (() => ValidationSite),
  issues: ReadonlyArray<StandardSchemaV1.Issue>,
  cause?: unknown,
): ValidationError {
  const site = typeof siteOrThunk === 'function' ? siteOrThunk() : siteOrThunk;
  const first = issues[0];
  const path = formatPath(first?.path);
  const at = path ? ` at "${path}"` : '';
  const more =
    issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? 's' : ''})` : '';
  const message = `${site.what} of ${site.subject} failed validation ${site.side}${at}: ${first?.message ?? 'invalid'}${more}`;
  return new ValidationError(message, {
    cause,
    data: {
      side: site.side,
      what: site.what,
      issues: issues.map((issue) => ({ message: issue.message, path: formatPath(issue.path) })),
    },
  });
}

/** `["items", 2, "name"]` → `items[2].name`. */
export function formatPath(path: StandardSchemaV1.Issue['path']): string {
  if (!path || path.length === 0) return '';
  let out = '';
  for (const segment of path) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
