/**
 * Runs a Standard Schema and turns a failure into a VALIDATION error that names the side, the
 * method and the path of the first bad field. Stays synchronous when the schema is, so the common
 * call path does not pay for an extra promise.
 */
import { ValidationError } from './errors.js';
import { describe } from './protocol.js';
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
    throw schemaThrew(site, error);
  }
  if (result instanceof Promise) {
    // zod 4 turns a throwing refine (or a stack overflow) into a rejection: still VALIDATION.
    return result.then(
      (settled) => unwrap(settled, site),
      (error: unknown) => {
        throw schemaThrew(site, error);
      },
    );
  }
  return unwrap(result, site);
}

function unwrap(
  result: StandardSchemaV1.Result<unknown>,
  site: ValidationSite | (() => ValidationSite),
): unknown {
  if (typeof result !== 'object' || result === null) {
    throw validationError(site, [{ message: 'the schema returned no result (not a Standard Schema?)' }]);
  }
  if (result.issues) {
    const issues = Array.isArray(result.issues)
      ? result.issues
      : [{ message: 'invalid (the schema listed no issues)' }];
    throw validationError(site, issues);
  }
  return result.value;
}

/** The schema itself failed (a buggy refine, a stack overflow): VALIDATION, with the failure as cause. */
function schemaThrew(site: ValidationSite | (() => ValidationSite), error: unknown): ValidationError {
  return validationError(site, [{ message: `schema threw ${describe(error)}` }], error);
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
  const message = `${site.what} of ${site.subject} failed validation ${site.side}${at}: ${issueMessage(first)}${more}`;
  return new ValidationError(message, {
    cause,
    data: {
      side: site.side,
      what: site.what,
      issues: issues.map((issue) => ({ message: issueMessage(issue), path: formatPath(issue?.path) })),
    },
  });
}

function issueMessage(issue: StandardSchemaV1.Issue | undefined): string {
  return typeof issue?.message === 'string' ? issue.message : 'invalid';
}

/** `["items", 2, "name"]` → `items[2].name`. */
export function formatPath(path: StandardSchemaV1.Issue['path']): string {
  if (!Array.isArray(path) || path.length === 0) return '';
  let out = '';
  for (const segment of path) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
