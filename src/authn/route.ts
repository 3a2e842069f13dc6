/** A route's authentication, compiled once: its authenticators in order, as one stage. */
import type { Refusal } from '../errors.js';
import type { Stage } from '../pipeline/stage.js';
import type { Authenticator } from './authenticator.js';
import { bearerChallenge } from './challenge.js';
import { createBearerAuthenticator, type TokenSource } from './jwt/bearer.js';
import type { JwtProvider } from './jwt/provider.js';
import type { Provider } from './registry.js';
import { authenticationStage } from './stage.js';
import { isBrowserNavigation } from './session/browser.js';
import type { LoginFlow } from './session/login.js';
import type { SessionAuthenticator } from './session/session.js';

export interface RouteAuthentication {
  readonly stage: Stage;
  /** Inbound headers that carry the route's credentials (never forwarded unless the upstream asks). */
  readonly credentialHeaders: readonly string[];
  /** The `WWW-Authenticate` challenge for a refusal on this route, when it accepts bearer tokens. */
  challenge(refusal: Refusal): string | undefined;
  /** The sign-in flow of the route's first session authenticator: browsers without a session are sent there. */
  readonly login: LoginFlow | undefined;
}

/** Refusals after which a browser is sent to sign in (no credential, or a session that did not open or has ended). */
const LOGIN_CODES: ReadonlySet<string> = new Set(['token_missing', 'session_invalid', 'session_expired', 'session_revoked']);

/** The authenticate stage, with refusals of browser navigations turned into the login redirect. */
function withLogin(stage: Stage, login: LoginFlow): Stage {
  const redirect = (ctx: Parameters<Stage['run']>[0], r: Refusal | undefined): Refusal | undefined | Promise<Refusal> => {
    if (r === undefined || !LOGIN_CODES.has(r.code) || !isBrowserNavigation(ctx.method, ctx.headers)) return r;
    const clear = r.headers?.['set-cookie'];
    return login.begin(ctx, ctx.url, typeof clear === 'string' ? [clear] : clear ?? []);
  };
  return {
    name: 'authenticate',
    run(ctx) {
      const r = stage.run(ctx);
      return r instanceof Promise ? r.then((x) => redirect(ctx, x)) : redirect(ctx, r);
    },
  };
}

const NO_CHALLENGE = (): undefined => undefined;

/**
 * The route's authenticators in its `authenticate` order; its JWT providers form one bearer
 * authenticator (the token's `iss` picks among them) placed where the first of them is listed.
 */
function routeAuthenticators(providers: readonly Provider[], source: TokenSource): Authenticator[] {
  const jwts: JwtProvider[] = providers.flatMap((p) => (p.kind === 'jwt' ? [p.jwt] : []));
  const opaque = providers.some((p) => p.kind === 'authenticator' && p.authenticator.kind === 'introspection');
  const out: Authenticator[] = [];
  let bearerPlaced = false;
  for (const p of providers) {
    if (p.kind === 'authenticator') out.push(p.authenticator);
    else if (!bearerPlaced) {
      out.push(createBearerAuthenticator(jwts, source, { opaqueNotMine: opaque }));
      bearerPlaced = true;
    }
  }
  return out;
}

/** Compile a route's `authenticate` list (providers already looked up by name). */
export function compileAuthentication(providers: readonly Provider[], source: TokenSource = { header: true }, loginRedirect = true): RouteAuthentication {
  const authenticators = routeAuthenticators(providers, source);
  // A route that takes client certificates only asks for one by name; any other asks for a credential.
  const certificateOnly = authenticators.every((a) => a.kind === 'mtls');
  const missing: Refusal = Object.freeze({ code: certificateOnly ? 'client_certificate_required' : 'token_missing', detail: `send ${[...new Set(authenticators.map((a) => a.hint))].join(' or ')}` });
  const session = authenticators.find((a): a is SessionAuthenticator => a.kind === 'session');
  const stage = authenticationStage(authenticators, missing);
  return {
    // `loginRedirect: false` (an API route): even a browser without a session gets the 401, never a redirect.
    stage: session !== undefined && loginRedirect ? withLogin(stage, session.login) : stage,
    login: session?.login,
    credentialHeaders: [...new Set(authenticators.flatMap((a) => a.credentialHeaders))],
    challenge: authenticators.some((a) => a.bearer) ? bearerChallenge : NO_CHALLENGE,
  };
}
