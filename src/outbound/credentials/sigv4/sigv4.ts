/**
 * `type: sigv4`: the upstream request signed with AWS Signature Version 4, by static keys or by the
 * temporary credentials of a role assumed with a web identity token (one role session per caller
 * when the session name names the caller). Credentials that cannot be had end the request with 503
 * `upstream_credential_unavailable`; the audit line names the role, the session and the assumed-role
 * id, never a key or token.
 */
import { GatehouseError, type Refusal } from '../../../errors.js';
import type { Identity } from '../../../identity/identity.js';
import type { RequestContext } from '../../../pipeline/context.js';
import type { CredentialUse, OutboundCredential } from '../credential.js';
import { recordCredential } from '../credential.js';
import type { OAuth2Context } from '../oauth2/token-source.js';
import type { SigV4CredentialConfig } from './schema.js';
import { compileSessionName } from './session.js';
import { createRequestSigner } from './sign.js';
import { createChainedRoles } from './chain.js';
import type { ChainedRequest } from './chain.js';
import { createWebIdentityRoles, StsError, type AssumedRole, type AwsKeys } from './sts.js';

/**
 * The headers to strip from inbound requests on every route: none. The signing stage itself drops
 * every inbound Authorization, `x-amz-*` header and presigning query parameter of its own requests;
 * reserving `x-amz-security-token` everywhere would break a route elsewhere that forwards its
 * callers' own SigV4 signatures (`forwardAuthorization: true`), as `bearerHeaders` explains for Authorization.
 */
export function sigv4Headers(): string[] {
  return [];
}

function unavailable(what: string, reason: string): Refusal {
  return { code: 'upstream_credential_unavailable', internal: `${what}: ${reason}` };
}

export function createSigV4Credential(cfg: SigV4CredentialConfig, ctx: OAuth2Context): OutboundCredential {
  const signer = createRequestSigner({ service: cfg.service, region: cfg.region, signedHeaders: cfg.signedHeaders });
  const signedPayload = (cfg.payload ?? 'signed') === 'signed';

  /** Read the body when it is signed, then sign. */
  const signWith = async (rctx: RequestContext, keys: AwsKeys, use: CredentialUse): Promise<Refusal | undefined> => {
    const out = rctx.outbound!;
    let body: Buffer | undefined;
    if (signedPayload) {
      try {
        body = out.body ?? (await rctx.readBody());
      } catch (err) {
        // Past the route's limit (413), or the client went away.
        if (err instanceof GatehouseError) return { code: err.code, detail: err.message };
        throw err;
      }
      out.body = body;
    }
    await signer.sign(out, keys, body);
    recordCredential(rctx, use);
    return undefined;
  };

  const s = cfg.credentials.static;
  if (s !== undefined) {
    const keys: AwsKeys = { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, ...(s.sessionToken !== undefined ? { sessionToken: s.sessionToken } : {}) };
    const use: CredentialUse = Object.freeze({ kind: 'sigv4', service: cfg.service, region: cfg.region, access_key_id: s.accessKeyId });
    return { name: 'outbound', kind: 'sigv4', run: (rctx) => signWith(rctx, keys, use) };
  }

  const wi = cfg.credentials.webIdentity;
  if (wi === undefined) throw new Error('sigv4: set `credentials.static` or `credentials.webIdentity`');
  const roles = createWebIdentityRoles(wi, cfg.region, ctx);
  const session = compileSessionName(wi.sessionName);
  const what = `sigv4 role ${wi.roleArn} (web identity from ${roles.tokenLabel})`;
  if (wi.assumeRole !== undefined) {
    const ar = wi.assumeRole;
    const baseName = session.name(undefined);
    if (baseName === undefined) throw new Error('sigv4: with `assumeRole`, `webIdentity.sessionName` names the gateway\'s base session and cannot name the caller');
    const chained = createChainedRoles(wi, ar, cfg.region, () => roles.assume(baseName));
    return sessionStage<ChainedRequest>(`sigv4 role ${ar.roleArn} chained from ${what}`, signWith, {
      of: (identity) => {
        const req = chained.request(identity);
        return typeof req === 'string' ? { problem: req } : { session: req };
      },
      name: (req) => req.sessionName,
      peek: (req) => chained.peek(req),
      assume: (req) => chained.assume(req),
      use: (role, req) => ({
        kind: 'sigv4', service: cfg.service, region: cfg.region, role_arn: ar.roleArn, session_name: req.sessionName,
        assumed_role_id: role.assumedRoleId, session_tags: req.tags, base_role_arn: wi.roleArn,
      }),
      start: () => roles.start(),
      close: () => { chained.close(); roles.close(); },
    });
  }
  return sessionStage<string>(what, signWith, {
    of: (identity) => {
      const name = session.name(identity);
      return name === undefined ? { problem: 'the role session name needs a value the caller\'s identity does not have' } : { session: name };
    },
    name: (name) => name,
    peek: (name) => roles.peek(name),
    assume: (name) => roles.assume(name),
    use: (role, name) => ({ kind: 'sigv4', service: cfg.service, region: cfg.region, role_arn: wi.roleArn, session_name: name, assumed_role_id: role.assumedRoleId }),
    start: () => roles.start(),
    close: () => roles.close(),
  });
}

/** Role sessions keyed by `S` (a session name; a session name and tags): which one a request needs, and its keys. */
interface Sessions<S> {
  /** The session this caller needs, or why there is none. */
  of(identity: Identity | undefined): { session: S } | { problem: string };
  name(session: S): string;
  peek(session: S): AssumedRole | undefined;
  assume(session: S): Promise<AssumedRole>;
  /** What the audit line says (built once per issued role, then shared). */
  use(role: AssumedRole, session: S): CredentialUse;
  start(): Promise<void>;
  close(): void;
}

type SignWith = (rctx: RequestContext, keys: AwsKeys, use: CredentialUse) => Promise<Refusal | undefined>;

/** Sign with the session's cached keys, or after one STS call; no keys: 503 with the reason in the audit. */
function sessionStage<S>(what: string, signWith: SignWith, sessions: Sessions<S>): OutboundCredential {
  const uses = new WeakMap<AssumedRole, CredentialUse>();
  const useOf = (role: AssumedRole, session: S): CredentialUse => {
    let use = uses.get(role);
    if (use === undefined) uses.set(role, (use = Object.freeze(sessions.use(role, session))));
    return use;
  };
  return {
    name: 'outbound',
    kind: 'sigv4',
    run(rctx) {
      const needed = sessions.of(rctx.identity);
      if ('problem' in needed) return unavailable(what, needed.problem);
      const session = needed.session;
      const cached = sessions.peek(session);
      if (cached !== undefined) return signWith(rctx, cached.keys, useOf(cached, session));
      return sessions.assume(session).then(
        (role) => signWith(rctx, role.keys, useOf(role, session)),
        (err: unknown) => unavailable(`${what}, session ${sessions.name(session)}`, err instanceof StsError ? err.reason : 'unexpected error'),
      );
    },
    start: () => sessions.start(),
    close: () => sessions.close(),
  };
}
