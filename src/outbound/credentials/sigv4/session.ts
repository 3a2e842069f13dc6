/**
 * Templates over the caller's identity (`{subject}`, `{claim:NAME}`, …) for what STS is told about a
 * role session: the RoleSessionName (each value reduced to `[\w+=,.@-]`, cut to 64), and session
 * tag values (reduced to STS's tag characters, cut to 256). CloudTrail then names the caller in every
 * call made with the session's credentials; IAM policies can condition on the tags.
 */
import type { Identity } from '../../../identity/identity.js';

const PLACEHOLDER = /\{(subject|client_id|tenant|provider|claim:[^{}]+)\}/g;
const ANY_PLACEHOLDER = /\{[^{}]*\}/g;
export const SESSION_NAME_MAX = 64;
export const TAG_VALUE_MAX = 256;
export const TAG_KEY_MAX = 128;
const DEFAULT_SESSION_NAME = 'gatehouse';

/** The characters of a role session name, and of a session tag key or value. */
const SESSION_CHARS = { outside: /[^\w+=,.@-]/g, phrase: 'letters, digits and + = , . @ _ -' };
const TAG_CHARS = { outside: /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, phrase: 'letters, digits, spaces and _ . : / = + - @' };

/** What a template produces: STS's characters, a length, and whether an empty result is allowed. */
export interface TemplateKind {
  readonly what: string;
  readonly outside: RegExp;
  readonly phrase: string;
  readonly max: number;
  readonly min: number;
}
export const SESSION_NAME: TemplateKind = { what: 'a role session name', ...SESSION_CHARS, max: SESSION_NAME_MAX, min: 2 };
export const TAG_VALUE: TemplateKind = { what: 'a session tag value', ...TAG_CHARS, max: TAG_VALUE_MAX, min: 1 };

/** A compiled template: fixed, or made per caller. */
export interface Template {
  /** Whether it depends on the caller (then a request without an identity cannot be served). */
  readonly perCaller: boolean;
  /** The text for `identity`; undefined when a placeholder has no value for this caller. */
  name(identity: Identity | undefined): string | undefined;
}
export type SessionName = Template;

/** Characters outside STS's set become `-`. */
export function sanitizeSessionPart(value: string, kind: TemplateKind = SESSION_NAME): string {
  return value.replace(kind.outside, '-');
}

/** What is wrong with a template (config check); undefined when it compiles. */
export function templateProblem(template: string, kind: TemplateKind): string | undefined {
  const unknown = (template.match(ANY_PLACEHOLDER) ?? []).filter((p) => !new RegExp(`^${PLACEHOLDER.source}$`).test(p));
  if (unknown.length > 0) return `unknown placeholder ${unknown[0]}: use {subject}, {client_id}, {tenant}, {provider} or {claim:NAME}`;
  const literal = template.replace(PLACEHOLDER, '');
  if (new RegExp(kind.outside.source, kind.outside.flags.replace('g', '')).test(literal)) return `${kind.what} may only contain ${kind.phrase} (besides placeholders)`;
  if (literal.length > kind.max) return `${kind.what} has at most ${kind.max} characters`;
  return undefined;
}

export const sessionNameProblem = (template: string): string | undefined => templateProblem(template, SESSION_NAME);

/** What is wrong with a session tag key; undefined when STS takes it. */
export function tagKeyProblem(key: string): string | undefined {
  if (key.length < 1 || key.length > TAG_KEY_MAX) return `a session tag key has 1 to ${TAG_KEY_MAX} characters`;
  if (new RegExp(TAG_CHARS.outside.source, 'u').test(key)) return `a session tag key may only contain ${TAG_CHARS.phrase}`;
  if (/^aws:/i.test(key)) return 'a session tag key may not start with `aws:` (reserved by AWS)';
  return undefined;
}

function valueOf(identity: Identity, key: string): string | undefined {
  if (key === 'subject') return identity.subject;
  if (key === 'client_id') return identity.clientId;
  if (key === 'tenant') return identity.tenant;
  if (key === 'provider') return identity.provider;
  const claim = identity.claims[key.slice('claim:'.length)];
  return typeof claim === 'string' || typeof claim === 'number' ? String(claim) : undefined;
}

export function compileTemplate(text: string, kind: TemplateKind): Template {
  const problem = templateProblem(text, kind);
  if (problem !== undefined) throw new Error(`sigv4: ${kind.what}: ${problem}`);
  if (!new RegExp(PLACEHOLDER.source).test(text)) return { perCaller: false, name: () => text };
  return {
    perCaller: true,
    name(identity) {
      if (identity === undefined) return undefined;
      let missing = false;
      const name = text.replace(PLACEHOLDER, (_all, key: string) => {
        const value = valueOf(identity, key);
        if (value === undefined || value === '') missing = true;
        return sanitizeSessionPart(value ?? '', kind);
      });
      if (missing) return undefined;
      const cut = [...name].slice(0, kind.max).join('');
      return cut.length >= kind.min ? cut : undefined;
    },
  };
}

export function compileSessionName(template: string | undefined): SessionName {
  return compileTemplate(template ?? DEFAULT_SESSION_NAME, SESSION_NAME);
}
