/** Helpers for authenticator unit tests: requests, synchronous answers and key-file events. */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ABSENT, PENDING, type AuthnOutcome, type AuthnRequest, type Authenticator } from '../../src/authn/authenticator.js';

export { authenticateWith } from '../../src/authn/stage.js';

/** A request with defaults (GET /, no query, no headers, empty body); `body` is what readBody resolves to. */
export function authnRequest(fields: Partial<Omit<AuthnRequest, 'readBody'>> & { body?: Buffer | string } = {}): AuthnRequest {
  const { body, ...rest } = fields;
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  return { method: 'GET', path: '/', rawPath: '/', query: '', headers: {}, ...rest, readBody: () => Promise.resolve(bytes) };
}

/**
 * The answer `a` gives from memory: the outcome, or undefined for "not mine". Fails if the
 * authenticator would need a promise (PENDING).
 */
export function probeNow(a: Authenticator, req: AuthnRequest): AuthnOutcome | undefined {
  const answer = a.probe(req);
  assert.notEqual(answer, PENDING, `${a.kind}: expected an answer without waiting`);
  return answer === ABSENT || answer === PENDING ? undefined : answer;
}

/** The refusal code of an outcome, 'ok' for success, undefined for "not mine". */
export const codeOf = (out: AuthnOutcome | undefined): string | undefined => (out === undefined ? undefined : out.ok ? 'ok' : out.refusal.code);

/** What `gatehouse:keyfile` publishes after a key file load. */
export interface KeyFileEvent {
  readonly provider: string;
  readonly file: string;
  readonly ok: boolean;
  readonly keys?: number;
  readonly error?: string;
  readonly kept?: boolean;
}

/** Record the `gatehouse:keyfile` events of `provider` (all providers when omitted) until stop(). */
export function keyFileEvents(provider?: string): { readonly events: KeyFileEvent[]; stop(): void } {
  const events: KeyFileEvent[] = [];
  const listener = (message: unknown): void => {
    const e = message as KeyFileEvent;
    if (provider === undefined || e.provider === provider) events.push(e);
  };
  subscribe('gatehouse:keyfile', listener);
  return { events, stop: () => { unsubscribe('gatehouse:keyfile', listener); } };
}
