/**
 * Outbound credential kinds: `type` → schema fragment and factory. Adding a kind is a file (or a
 * folder) here plus one line; `upstream.auth`'s union is derived from this table.
 */
import { Type, type Static, type TSchema, type TUnion } from '@sinclair/typebox';
import type { OutboundCredential } from './credential.js';
import type { AssertionSigner } from '../assertion.js';
import { createHeaderCredential, HeaderCredentialSchema } from './header.js';
import { OAuth2CredentialSchema, TokenExchangeCredentialSchema } from './oauth2/schema.js';
import { bearerHeaders, createOAuth2Credential } from './oauth2/oauth2.js';
import { createTokenExchangeCredential } from './oauth2/token-exchange.js';
import { SigV4CredentialSchema } from './sigv4/schema.js';
import { createSigV4Credential, sigv4Headers } from './sigv4/sigv4.js';

/** What building a credential may use besides its own config. */
export interface CredentialContext {
  /** Directory of the config file (relative paths resolve against it). */
  readonly baseDir: string;
  /** The runtime's identity assertion signer (token exchange of the caller's assertion). */
  readonly signer?: AssertionSigner;
}

interface Kind<S extends TSchema> {
  readonly schema: S;
  create(cfg: Static<S>, ctx: CredentialContext): OutboundCredential;
  /** The request headers this credential sets: stripped from every inbound request, on every route. */
  headers(cfg: Static<S>): readonly string[];
}

const kind = <S extends TSchema>(schema: S, create: Kind<S>['create'], headers: Kind<S>['headers']): Kind<S> => ({ schema, create, headers });

export const CREDENTIAL_KINDS = {
  header: kind(HeaderCredentialSchema, (cfg) => createHeaderCredential(cfg), (cfg) => [cfg.name.toLowerCase()]),
  oauth2: kind(OAuth2CredentialSchema, createOAuth2Credential, bearerHeaders),
  'token-exchange': kind(TokenExchangeCredentialSchema, createTokenExchangeCredential, bearerHeaders),
  sigv4: kind(SigV4CredentialSchema, createSigV4Credential, sigv4Headers),
};

type Kinds = typeof CREDENTIAL_KINDS;

export const CredentialSchema = Type.Union(Object.values(CREDENTIAL_KINDS).map((k) => k.schema), {
  description: `An outbound credential; \`type\` selects the kind: ${Object.keys(CREDENTIAL_KINDS).map((t) => `\`${t}\``).join(', ')}.`,
}) as TUnion<Kinds[keyof Kinds]['schema'][]>;

export type CredentialConfig = Static<typeof CredentialSchema>;

/** Build an outbound credential from its config (at load). */
export function createCredential(cfg: CredentialConfig, ctx: CredentialContext): OutboundCredential {
  return (CREDENTIAL_KINDS[cfg.type] as Kind<TSchema>).create(cfg, ctx);
}

/** The headers a credential config speaks through. */
export function credentialHeaders(cfg: CredentialConfig): readonly string[] {
  return (CREDENTIAL_KINDS[cfg.type] as Kind<TSchema>).headers(cfg);
}
