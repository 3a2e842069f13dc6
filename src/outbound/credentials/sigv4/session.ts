/**
 * The RoleSessionName of a request: a template over the caller's identity (`{subject}`,
 * `{claim:NAME}`, …), each value reduced to the characters STS takes (`[\w+=,.@-]`), cut to 64.
 * CloudTrail then names the caller in every call made with the session's credentials.
 */
import type { Identity } from '../../../identity/identity.js';

const PLACEHOLDER = /\{(subject|client_id|tenant|provider|claim:[^{}]+)\}/g;
const ANY_PLACEHOLDER = /\{[^{}]*\}/g;
export const SESSION_NAME_MAX = 64;
const DEFAULT_SESSION_NAME = 'gatehouse';

/** A compiled session name: fixed, or made per caller. */
export interface SessionName {
  /** Whether it depends on the caller (then a request without an identity cannot be signed). */
  readonly perCaller: boolean;
  /** The name for `identity`; undefined when a placeholder has no value for this caller. */
  name(identity: Identity | undefined): string | undefined;
}

/** Characters outside STS's set become `-`. */
export function sanitizeSessionPart(value: string): string {
  return value.replace(/[^\w+=,.@-]/g, '-');
}

/** What is wrong with a template (config check); undefined when it compiles. */
export function sessionNameProblem(template: string): string | undefined {
  const unknown = (template.match(ANY_PLACEHOLDER) ?? []).filter((p) => !new RegExp(`^${PLACEHOLDER.source}$`).test(p));
  if (unknown.length > 0) return `unknown placeholder ${unknown[0]}: use {subject}, {client_id}, {tenant}, {provider} or {claim:NAME}`;
  const literal = template.replace(PLACEHOLDER, '');
  if (/[^\w+=,.@-]/.test(literal)) return 'a role session name may only contain letters, digits and + = , . @ _ - (besides placeholders)';
  if (literal.length > SESSION_NAME_MAX) return `a role session name has at most ${SESSION_NAME_MAX} characters`;
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

export function compileSessionName(template: string | undefined): SessionName {
  const text = template ?? DEFAULT_SESSION_NAME;
  const problem = sessionNameProblem(text);
  if (problem !== undefined) throw new Error(`sigv4: sessionName: ${problem}`);
  if (!new RegExp(PLACEHOLDER.source).test(text)) return { perCaller: false, name: () => text };
  return {
    perCaller: true,
    name(identity) {
      if (identity === undefined) return undefined;
      let missing = false;
      const name = text.replace(PLACEHOLDER, (_all, key: string) => {
        const value = valueOf(identity, key);
        if (value === undefined || value === '') missing = true;
        return sanitizeSessionPart(value ?? '');
      });
      if (missing) return undefined;
      // STS wants at least 2 characters.
      const cut = name.slice(0, SESSION_NAME_MAX);
      return cut.length >= 2 ? cut : undefined;
    },
  };
}
