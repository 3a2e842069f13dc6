/** What a message body must be: an accepted media type and, when configured, valid against a JSON Schema. */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Refusal } from '../../errors.js';

/** The media type of a Content-Type value, lower-cased, without parameters. */
export function mediaType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  return type === '' ? undefined : type;
}

export function contentTypeRefusal(accepted: readonly string[], type: string | undefined): Refusal | undefined {
  if (accepted.includes('*/*') && type !== undefined) return undefined;
  if (type !== undefined && accepted.includes(type)) return undefined;
  return { code: 'content_type_not_allowed', detail: `this route accepts ${accepted.join(', ')}${type === undefined ? '; the request has no Content-Type' : `, not ${type}`}`, headers: { 'accept-post': accepted.join(', ') } };
}

const MAX_ERRORS = 20;

/** A compiled body schema: undefined for a valid body, else the 422 refusal with the schema errors. */
export type BodyCheck = (body: Buffer) => Refusal | undefined;

/** Compile `schema` (an object or JSON text); throws with the reason when it is not a usable schema. */
export function compileBodySchema(schema: object | string): BodyCheck {
  const parsed: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  const validate: ValidateFunction = ajv.compile(parsed as object);
  return (body) => {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return { code: 'body_invalid', detail: 'the body is not valid JSON', errors: [{ pointer: '', message: 'not valid JSON' }] };
    }
    if (validate(value)) return undefined;
    const errors = (validate.errors ?? []).slice(0, MAX_ERRORS).map((e: ErrorObject) => ({ pointer: e.instancePath, message: e.message ?? e.keyword }));
    return { code: 'body_invalid', detail: `the body does not match the route's schema (${errors.length} error${errors.length === 1 ? '' : 's'})`, errors };
  };
}

/** Why `schema` cannot be compiled (config check); undefined when it can. */
export function bodySchemaProblem(schema: object | string): string | undefined {
  try {
    compileBodySchema(schema);
    return undefined;
  } catch (err) {
    return err instanceof SyntaxError ? `not JSON: ${err.message}` : `not a valid JSON Schema: ${(err as Error).message}`;
  }
}
