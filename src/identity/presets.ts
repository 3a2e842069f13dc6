/**
 * OIDC presets: the claim mapping, issuer rules and known quirks of the identity providers our users
 * run, one object per provider. Compiled once per provider at config load; the provider's `claims:`
 * still overrides the preset's mapping field by field. docs/providers/oidc-presets.md explains each.
 */
import type { Static } from '@sinclair/typebox';
import type { JWTPayload } from 'jose';
import type { ErrorCode, Refusal } from '../errors.js';
import type { OidcProviderSchema } from '../authn/jwt/schema.js';
import type { TokenRules } from '../authn/jwt/rules.js';
import { compileClaimMapping, DEFAULT_CLAIMS, type ClaimMapping } from './claims.js';

type OidcConfig = Static<typeof OidcProviderSchema>;
export type PresetName = NonNullable<OidcConfig['preset']>;

/** Provider options that only some presets understand (using one elsewhere is a config error). */
const PRESET_OPTIONS = ['tenants', 'tokenVersions', 'tokenUse', 'clientId', 'hostedDomain', 'requireEmailVerified'] as const;
type PresetOption = (typeof PRESET_OPTIONS)[number];

type Mapping = Partial<Record<keyof ClaimMapping, readonly string[]>>;

/** What a preset adds for one provider beyond its static mapping. */
interface Compiled {
  readonly claims?: Mapping;
  readonly rules?: TokenRules;
}

interface Preset {
  /** Claim mapping over the defaults (an empty list: the provider has no such claim). */
  readonly claims: Mapping;
  readonly options: readonly PresetOption[];
  /** Checks the config and builds the rules; throws with a message naming the fix. */
  readonly compile?: (cfg: OidcConfig) => Compiled;
}

const fail = (code: ErrorCode, detail: string): Refusal => Object.freeze({ code, detail });
const list = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- Entra ID -------------------------------------------------------------------------------

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TENANT_TEMPLATE = '{tenantid}';
/** Global Azure's v1.0 issuer; v2.0 issuers are the configured issuer with the tenant id in it. */
const V1_PREFIX = 'https://sts.windows.net/';
type EntraVersion = '1.0' | '2.0';

function entraRules(cfg: OidcConfig): Compiled {
  const m = /^(https?:\/\/[^/]+\/)([^/]+)\/v2\.0$/.exec(cfg.issuer);
  if (!m) throw new Error('issuer must be the v2.0 issuer https://login.microsoftonline.com/<tenant id>/v2.0, or https://login.microsoftonline.com/{tenantid}/v2.0 for a multi-tenant app (v1.0 tokens are accepted too)');
  const [, v2Prefix = '', segment = ''] = m;
  const template = segment === TENANT_TEMPLATE;
  if (!template && !new RegExp(`^${GUID}$`).test(segment)) {
    throw new Error(`the tenant in issuer must be the tenant id as tokens carry it (a lower-case GUID) or ${TENANT_TEMPLATE}, not "${segment}"`);
  }
  if (template && cfg.jwksUri === undefined) throw new Error(`an issuer with ${TENANT_TEMPLATE} has no discovery document: set jwksUri (https://login.microsoftonline.com/common/discovery/v2.0/keys)`);
  if (template && cfg.tenants === undefined) throw new Error(`an issuer with ${TENANT_TEMPLATE} needs tenants: the tenant ids whose tokens are accepted`);
  if (!template && cfg.tenants !== undefined) throw new Error(`tenants applies only to an issuer with ${TENANT_TEMPLATE}; this issuer names one tenant`);
  // The configured (v2.0) form first.
  const versions = new Set<EntraVersion>((['2.0', '1.0'] as const).filter((v) => (cfg.tokenVersions ?? ['2.0', '1.0']).includes(v)));
  const tenants = new Set(template ? cfg.tenants!.map((t) => t.toLowerCase()) : [segment]);
  const forms: Record<EntraVersion, string> = { '2.0': `${escapeRegExp(v2Prefix)}(${GUID})/v2\\.0`, '1.0': `${escapeRegExp(V1_PREFIX)}(${GUID})/` };
  const v2 = new RegExp(`^${forms['2.0']}$`);
  const v1 = new RegExp(`^${forms['1.0']}$`);
  const parse = (iss: string): { version: EntraVersion; tenant: string } | undefined => {
    const hit2 = v2.exec(iss);
    if (hit2) return { version: '2.0', tenant: hit2[1]! };
    const hit1 = v1.exec(iss);
    return hit1 ? { version: '1.0', tenant: hit1[1]! } : undefined;
  };
  const unknown: Refusal = Object.freeze({ code: 'issuer_unknown' });
  const rules: TokenRules = {
    ...(template
      ? { issuerPattern: new RegExp(`^(?:${[...versions].map((v) => forms[v]).join('|')})$`) }
      : { issuers: [...versions].map((v) => (v === '2.0' ? cfg.issuer : `${V1_PREFIX}${segment}/`)) }),
    acceptIssuer(iss) {
      const parsed = parse(iss);
      if (parsed === undefined) return unknown;
      if (!versions.has(parsed.version)) return fail('issuer_unknown', `Entra ID v${parsed.version} tokens are not accepted by this provider`);
      if (!tenants.has(parsed.tenant)) return fail('issuer_unknown', `tenant ${parsed.tenant} is not accepted by this provider`);
      return undefined;
    },
    // The classic multi-tenant validation: iss must be the issuer of the token's own tenant.
    checkClaims: (claims) => (claims.tid === parse(String(claims.iss))?.tenant ? undefined : fail('issuer_unknown', 'iss does not name the tenant in tid')),
  };
  return { rules };
}

// ---- Cognito, Auth0, Keycloak, Google --------------------------------------------------------

function cognitoRules(cfg: OidcConfig): Compiled {
  const use = cfg.tokenUse ?? 'access';
  const clients = new Set(list(cfg.audience));
  const wrongUse = fail('claim_invalid', `token_use must be "${use}": this provider accepts Cognito ${use} tokens only`);
  const wrongClient = fail('audience_mismatch', 'client_id is not one of the app client ids in audience');
  return {
    rules: {
      // Access tokens carry no aud; their client_id names the app client instead. ID tokens have aud.
      checkAudience: use === 'id',
      checkClaims(claims) {
        if (claims.token_use !== use) return wrongUse;
        if (use === 'access' && !(typeof claims.client_id === 'string' && clients.has(claims.client_id))) return wrongClient;
        return undefined;
      },
    },
  };
}

function auth0Rules(cfg: OidcConfig): Compiled {
  // Auth0 writes its issuer with a trailing slash; without it discovery and every token would fail.
  if (!cfg.issuer.endsWith('/')) throw new Error(`Auth0 issuers end with "/": use ${cfg.issuer}/`);
  return {};
}

function keycloakRules(cfg: OidcConfig): Compiled {
  const clients = cfg.clientId !== undefined ? [cfg.clientId] : list(cfg.audience);
  const notAccess = fail('claim_invalid', 'typ is not "Bearer": Keycloak ID and refresh tokens are not access tokens');
  return {
    claims: { roles: ['realm_access.roles', ...clients.map((c) => `resource_access.${c}.roles`)] },
    rules: { checkClaims: (claims) => (claims.typ === undefined || claims.typ === 'Bearer' ? undefined : notAccess) },
  };
}

const GOOGLE = 'https://accounts.google.com';

function googleRules(cfg: OidcConfig): Compiled {
  const domains = cfg.hostedDomain === undefined ? undefined : new Set(list(cfg.hostedDomain));
  const noDomain = fail('claim_invalid', 'the token has no hd claim: a Google Workspace account is required');
  const wrongDomain = fail('claim_invalid', 'hd is not an accepted hosted domain');
  const unverified = fail('claim_invalid', 'email_verified is not true');
  const checks: ((claims: JWTPayload) => Refusal | undefined)[] = [];
  if (domains) checks.push((c) => (typeof c.hd !== 'string' ? noDomain : domains.has(c.hd) ? undefined : wrongDomain));
  // Google's own examples spell it as the string "true"; real tokens carry a boolean.
  if (cfg.requireEmailVerified === true) checks.push((c) => (c.email_verified === true || c.email_verified === 'true' ? undefined : unverified));
  return {
    rules: {
      // Google ID tokens may carry iss without the scheme.
      ...(cfg.issuer === GOOGLE ? { issuers: [GOOGLE, 'accounts.google.com'] } : {}),
      ...(checks.length > 0 ? { checkClaims: (claims: JWTPayload) => checks.reduce<Refusal | undefined>((r, check) => r ?? check(claims), undefined) } : {}),
    },
  };
}

// ---- The presets ---------------------------------------------------------------------------

const PRESETS: Readonly<Record<PresetName, Preset>> = {
  'entra-id': {
    // oid is the stable object id (sub is pairwise per app); azp (v2) / appid (v1) the client.
    claims: { subject: ['oid', 'sub'], roles: ['roles'], groups: ['groups'], scopes: ['scp'], tenant: ['tid'], clientId: ['azp', 'appid'] },
    options: ['tenants', 'tokenVersions'],
    compile: entraRules,
  },
  okta: {
    // uid is the user id; client-credentials tokens have none and sub is the client id.
    claims: { subject: ['uid', 'sub'], roles: [], groups: ['groups'], scopes: ['scp'], tenant: [], clientId: ['cid'] },
    options: [],
  },
  cognito: {
    // Cognito has no roles: its groups serve as both.
    claims: { subject: ['sub'], roles: ['cognito:groups'], groups: ['cognito:groups'], scopes: ['scope'], tenant: [], clientId: ['client_id', 'aud'] },
    options: ['tokenUse'],
    compile: cognitoRules,
  },
  auth0: {
    // RBAC puts API permissions in `permissions`; roles are a namespaced custom claim (map it with claims.roles).
    claims: { subject: ['sub'], scopes: ['scope', 'permissions'], tenant: ['org_id'], clientId: ['azp', 'client_id'] },
    options: [],
    compile: auth0Rules,
  },
  keycloak: {
    claims: { subject: ['sub'], groups: ['groups'], scopes: ['scope'], tenant: [], clientId: ['azp'] },
    options: ['clientId'],
    compile: keycloakRules,
  },
  google: {
    // The hosted domain is the Workspace tenant; Google ID tokens have no roles, groups or scopes.
    claims: { subject: ['sub'], roles: [], groups: [], scopes: [], tenant: ['hd'], clientId: ['azp', 'aud'] },
    options: ['hostedDomain', 'requireEmailVerified'],
    compile: googleRules,
  },
};

function checkPresetOptions(name: string, cfg: OidcConfig): void {
  const allowed: readonly PresetOption[] = cfg.preset === undefined ? [] : PRESETS[cfg.preset].options;
  for (const option of PRESET_OPTIONS) {
    if (cfg[option] === undefined || allowed.includes(option)) continue;
    const owners = Object.entries(PRESETS).filter(([, p]) => p.options.includes(option)).map(([n]) => n);
    throw new Error(`provider "${name}": \`${option}\` applies only with preset: ${owners.join(' or ')}`);
  }
}

/** A provider's claim mapping (defaults ← preset ← `claims:`) and token rules; throws on a config the preset cannot serve. */
export function compilePreset(name: string, cfg: OidcConfig): { claims: ClaimMapping; rules?: TokenRules } {
  checkPresetOptions(name, cfg);
  if (cfg.preset === undefined) return { claims: compileClaimMapping(cfg.claims) };
  const preset = PRESETS[cfg.preset];
  let compiled: Compiled;
  try {
    compiled = preset.compile?.(cfg) ?? {};
  } catch (err) {
    throw new Error(`provider "${name}" (preset ${cfg.preset}): ${(err as Error).message}`);
  }
  const base: ClaimMapping = Object.freeze({ ...DEFAULT_CLAIMS, ...preset.claims, ...compiled.claims });
  return { claims: compileClaimMapping(cfg.claims, base), ...(compiled.rules ? { rules: compiled.rules } : {}) };
}
