/**
 * A real upstream that accepts only bearer tokens it can verify with jose against an issuer's JWKS
 * (as a backend behind the gateway would), and records what it verified.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { startUpstream, type TestUpstream } from './upstream.js';

export interface BearerUpstream extends TestUpstream {
  /** Claims of each token verified, in order. */
  readonly verified: JWTPayload[];
  /** Requests refused (no or bad token). */
  readonly refused: number;
}

/** Trust `issuer` (its JWKS at `jwksUri`); with `audience`, the token must be for it. */
export async function startBearerUpstream(trust: () => { issuer: string; jwksUri: string; audience?: string | string[] }): Promise<BearerUpstream> {
  const verified: JWTPayload[] = [];
  let refused = 0;
  const keysets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const up = await startUpstream((req, res) => {
    const { issuer, jwksUri, audience } = trust();
    let keys = keysets.get(jwksUri);
    if (keys === undefined) keysets.set(jwksUri, (keys = createRemoteJWKSet(new URL(jwksUri))));
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    req.resume();
    const deny = (): void => { refused++; res.writeHead(401, { 'content-type': 'text/plain' }).end('bad token'); };
    if (token === undefined) return deny();
    jwtVerify(token, keys, { issuer, ...(audience ? { audience } : {}) }).then(({ payload }) => {
      verified.push(payload);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: payload.sub, aud: payload.aud }));
    }, deny);
  });
  return Object.assign(up, { verified, get refused() { return refused; } });
}
