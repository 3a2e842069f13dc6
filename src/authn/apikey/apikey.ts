import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { ErrorCode } from '../../errors.js';
import type { ApiKeyProviderSchema } from './schema.js';
import { ABSENT, type AuthnOutcome, type AuthnRequest, type Authenticator, type ProviderContext } from '../authenticator.js';
import { apiKeyDigest, apiKeyId } from './format.js';
import { keyFile } from '../key-file.js';
import { parseKeyFile } from './file.js';

/** The API key authenticator, with the state of its key file. */
export interface ApiKeyAuthenticator extends Authenticator {
  readonly kind: 'apikey';
  /** Absolute path of the key file. */
  readonly file: string;
  /** Keys loaded, how many, and why the last load failed (if it did). */
  status(): { ready: boolean; keys: number; lastError: string | undefined };
  /** Re-read the key file now; resolves to whether its current content is in effect. */
  reload(): Promise<boolean>;
}

/** Compared against when the id is unknown, so that an unknown id costs what a wrong secret costs. */
const DECOY = randomBytes(32);

function refusal(provider: string, code: ErrorCode, detail?: string): AuthnOutcome {
  return Object.freeze({ ok: false as const, refusal: Object.freeze({ code, ...(detail ? { detail } : {}) }), provider });
}

/** Where the key is read from: the presented key ('' when unusable), or undefined when none is present. */
function extractor(header: string, scheme: string | undefined): (headers: IncomingHttpHeaders) => string | undefined {
  const wanted = scheme?.toLowerCase();
  return (headers) => {
    const value = headers[header];
    if (value !== undefined) return typeof value === 'string' ? value.trim() : '';
    const auth = wanted === undefined ? undefined : headers.authorization;
    if (auth === undefined) return undefined;
    const space = auth.indexOf(' ');
    if ((space === -1 ? auth : auth.slice(0, space)).toLowerCase() !== wanted) return undefined;
    return space === -1 ? '' : auth.slice(space + 1).trim();
  };
}

/** Build the apikey authenticator for provider `name` (at config load). */
export function createApiKeyAuthenticator(name: string, cfg: Static<typeof ApiKeyProviderSchema>, ctx: ProviderContext): ApiKeyAuthenticator {
  const file = resolve(ctx.baseDir, cfg.keys);
  const source = keyFile({ provider: name, file, parse: (text) => parseKeyFile(text, name), count: (keys) => keys.size });
  const extract = extractor((cfg.header ?? 'x-api-key').toLowerCase(), cfg.scheme);
  const invalid = refusal(name, 'api_key_invalid');
  const malformed = refusal(name, 'api_key_invalid', 'expected one key of the form gh_<id>_<secret>');
  const expired = refusal(name, 'api_key_expired');
  const unavailable = refusal(name, 'provider_unavailable', 'API keys are not loaded');

  return {
    kind: 'apikey',
    credentialHeaders: [(cfg.header ?? 'x-api-key').toLowerCase()],
    file,
    get ready() { return source.current !== undefined; },
    status: () => ({ ready: source.current !== undefined, keys: source.current?.size ?? 0, lastError: source.lastError }),
    reload: () => source.reload(),
    async start() {
      if (!(await source.start())) throw new Error(`provider "${name}": API key file ${file}: ${source.lastError ?? 'not loaded'}`);
    },
    close: () => source.close(),
    hint: 'an API key',
    bearer: false,
    probe,
    authenticate: (req) => Promise.resolve(probe(req)),
  };

  /** Keys are in memory: every answer is immediate. */
  function probe(req: AuthnRequest): AuthnOutcome | typeof ABSENT {
      const presented = extract(req.headers);
      if (presented === undefined) return ABSENT;
      const keys = source.current;
      if (keys === undefined) return unavailable;
      const id = apiKeyId(presented);
      const entry = id === undefined ? undefined : keys.get(id);
      // Hash and compare on every path, so an unknown id and a wrong secret cost the same.
      const same = timingSafeEqual(apiKeyDigest(presented), entry ? entry.digest : DECOY);
      if (id === undefined) return malformed;
      if (!same || entry === undefined) return invalid;
      if (entry.expiresAt !== undefined && Date.now() >= entry.expiresAt) return expired;
      return entry.accepted;
  }
}
