/** `type: oauth2`: the gateway's own access token (client credentials grant) in `Authorization: Bearer`. */
import type { Refusal } from '../../../errors.js';
import type { OutboundCredential } from '../credential.js';
import { recordCredential } from '../credential.js';
import { TokenEndpointError } from './client.js';
import type { OAuth2CredentialConfig } from './schema.js';
import { oauth2TokenSource, type OAuth2Context } from './token-source.js';

/** The header an OAuth2 credential sets (lowercase). */
export function bearerHeader(cfg: { header?: string | undefined }): string {
  return (cfg.header ?? 'authorization').toLowerCase();
}

/**
 * The headers to strip from inbound requests on every route. `authorization` is already stripped on
 * every route that does not forward it on purpose (`forwardAuthorization: true`); reserving it here
 * would silently take the caller's token away from those routes.
 */
export function bearerHeaders(cfg: { header?: string | undefined }): string[] {
  const name = bearerHeader(cfg);
  return name === 'authorization' ? [] : [name];
}

/** The 503 for a token that could not be had; the reason goes to the audit line only. */
export function unavailable(err: unknown, what: string): Refusal {
  const reason = err instanceof TokenEndpointError ? err.reason : 'unexpected error';
  return { code: 'upstream_credential_unavailable', internal: `${what}: ${reason}` };
}

export function createOAuth2Credential(cfg: OAuth2CredentialConfig, ctx: OAuth2Context): OutboundCredential {
  const source = oauth2TokenSource(cfg, ctx);
  const header = bearerHeader(cfg);
  let use: { kind: string; client: string; token_url: string } | undefined;
  const used = (): typeof use => {
    // The endpoint is known once discovery ran; one frozen object per endpoint after that.
    const tokenUrl = source.client.tokenUrl;
    if (use?.token_url !== tokenUrl) use = Object.freeze({ kind: 'oauth2', client: cfg.clientId, token_url: tokenUrl });
    return use;
  };
  const what = `oauth2 client ${cfg.clientId}`;
  return {
    name: 'outbound',
    kind: 'oauth2',
    run(rctx) {
      const cached = source.peek();
      if (cached !== undefined) {
        rctx.outbound!.headers[header] = `Bearer ${cached}`;
        recordCredential(rctx, used()!);
        return undefined;
      }
      return source.token().then((token) => {
        rctx.outbound!.headers[header] = `Bearer ${token}`;
        recordCredential(rctx, used()!);
        return undefined;
      }, (err: unknown) => unavailable(err, `${what} at ${source.client.tokenUrl}`));
    },
    start: () => source.start(),
    close: () => source.close(),
  };
}
