/**
 * A request turned into a message: the body as is, and CloudEvents attributes made only from what
 * the gateway verified (identity, route, request id, trace context). No request header but
 * `Content-Type` reaches a message: a caller cannot set `ce-authid` or any other property.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Identity } from '../../identity/identity.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { OutgoingMessage } from './broker.js';

/** The CloudEvents Auth Context extension's `authtype` for an identity. */
function authType(identity: Identity | undefined): string {
  if (identity === undefined) return 'unauthenticated';
  switch (identity.authMethod) {
    case 'apikey': return 'api_key';
    case 'sigv4':
    case 'mtls': return 'service_account';
    case 'session': return 'user';
    default:
      // Client-credentials tokens: Entra marks them `idtyp: app`; elsewhere the subject is the client.
      return identity.claims.idtyp === 'app' || (identity.clientId !== undefined && identity.clientId === identity.subject) ? 'service_account' : 'user';
  }
}

/** The caller as the `authclaims` attribute: what policies decided on, never a credential. */
function authClaims(identity: Identity): string {
  return JSON.stringify({
    provider: identity.provider, iss: identity.issuer, sub: identity.subject, client_id: identity.clientId, tenant: identity.tenant,
    roles: identity.roles, groups: identity.groups, scopes: identity.scopes, auth_method: identity.authMethod,
  });
}

/** An idempotency key becomes a message id scoped to the caller: another caller's key can never suppress this caller's message. */
export function messageIdFor(identity: Identity | undefined, key: string | undefined): string {
  if (key === undefined) return randomUUID();
  return createHash('sha256').update(`${identity?.provider ?? ''}\0${identity?.subject ?? ''}\0${key}`).digest('base64url').slice(0, 32);
}

export interface MessageSettings {
  readonly type: string;
  /** Absent: `/gatehouse/routes/<route>`. */
  readonly source: string | undefined;
  /** The outbound header the assertion stage filled, when the route sends assertions. */
  readonly assertionHeader: string | undefined;
}

export function buildMessage(ctx: RequestContext, settings: MessageSettings, id: string, destination: string, body: Buffer, contentType: string): OutgoingMessage {
  const identity = ctx.identity;
  const time = new Date();
  const attributes = new Map<string, string>([
    ['specversion', '1.0'],
    ['id', id],
    ['source', settings.source ?? `/gatehouse/routes/${ctx.route!.name}`],
    ['type', settings.type],
    ['authtype', authType(identity)],
  ]);
  if (identity !== undefined) {
    attributes.set('authid', identity.subject);
    attributes.set('authclaims', authClaims(identity));
  }
  attributes.set('traceparent', ctx.traceparent);
  const assertion = settings.assertionHeader === undefined ? undefined : ctx.outbound?.headers[settings.assertionHeader];
  if (typeof assertion === 'string') attributes.set('gatehouseassertion', assertion);
  attributes.set('gatehouserequestid', ctx.requestId);
  attributes.set('subject', destination);
  attributes.set('time', time.toISOString());
  return { id, body, contentType, time, attributes, identity };
}
