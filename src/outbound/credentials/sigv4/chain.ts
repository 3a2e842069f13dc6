/**
 * Role chaining for session tags: AssumeRoleWithWebIdentity takes no `Tags`, so the web identity
 * session is the gateway's base session and each caller's session is an sts:AssumeRole of the target
 * role, signed with the base session's keys, with the caller's RoleSessionName and session tags made
 * from its claims. Chained credentials are cached per (session name, tag values) until `refreshBefore`
 * ahead of their own Expiration (once issued they do not depend on the base keys), one STS call per
 * key at a time (ExpiringCache).
 */
import { parseDuration } from '../../../config/units.js';
import type { Identity } from '../../../identity/identity.js';
import { ExpiringCache } from '../expiring.js';
import type { AssumeRoleConfig, WebIdentityConfig } from './schema.js';
import { compileSessionName, compileTemplate, TAG_VALUE, type Template } from './session.js';
import { assumedRole, reasonOf, StsError, stsClientFactory, type AssumedRole } from './sts.js';

const MAX_SESSIONS = 10_000;

/** The caller's chained session: what STS is asked for, and the cache key of its credentials. */
export interface ChainedRequest {
  readonly sessionName: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly key: string;
}

export interface ChainedRoles {
  readonly perCaller: boolean;
  /** The session the caller gets: undefined (with the reason) when its identity lacks a value. */
  request(identity: Identity | undefined): ChainedRequest | string;
  peek(req: ChainedRequest): AssumedRole | undefined;
  /** Rejects with StsError. */
  assume(req: ChainedRequest): Promise<AssumedRole>;
  close(): void;
}

/** `base` gives the base session's current keys (cached by the web identity roles). */
export function createChainedRoles(wi: WebIdentityConfig, ar: AssumeRoleConfig, region: string, base: () => Promise<AssumedRole>, opts: { now?: () => number } = {}): ChainedRoles {
  const session = compileSessionName(ar.sessionName ?? '{subject}');
  const tags: [string, Template][] = Object.entries(ar.sessionTags ?? {}).map(([k, v]) => [k, compileTemplate(v, TAG_VALUE)]);
  const factory = stsClientFactory(wi, region, async () => {
    const { keys, expiration } = await base();
    return { ...keys, expiration };
  });
  const durationSeconds = ar.durationSeconds ?? 3600;
  const requests = new Map<string, ChainedRequest>();

  const load = async (key: string) => {
    const req = requests.get(key);
    if (req === undefined) throw new StsError('no such session request');
    try {
      const { client, sdk } = await factory.get();
      const out = await client.send(new sdk.AssumeRoleCommand({
        RoleArn: ar.roleArn, RoleSessionName: req.sessionName, DurationSeconds: durationSeconds,
        ...(tags.length > 0 ? { Tags: Object.entries(req.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
        ...(ar.transitiveTagKeys !== undefined ? { TransitiveTagKeys: ar.transitiveTagKeys } : {}),
        ...(ar.policy !== undefined ? { Policy: ar.policy } : {}),
        ...(ar.externalId !== undefined ? { ExternalId: ar.externalId } : {}),
      }));
      return assumedRole(out, ar.roleArn, req.sessionName, 'the AssumeRole answer');
    } catch (err) {
      throw new StsError(err instanceof StsError ? `base session: ${err.reason}` : `AssumeRole: ${reasonOf(err, undefined)}`, { cause: err });
    }
  };
  const cache = new ExpiringCache<AssumedRole>({
    max: MAX_SESSIONS,
    refreshBeforeMs: parseDuration(wi.refreshBefore ?? '5m'),
    load,
    ...(opts.now ? { now: opts.now } : {}),
  });

  return {
    perCaller: session.perCaller || tags.some(([, t]) => t.perCaller),
    request(identity) {
      const sessionName = session.name(identity);
      if (sessionName === undefined) return 'the role session name needs a value the caller\'s identity does not have';
      const values: Record<string, string> = {};
      for (const [k, t] of tags) {
        const v = t.name(identity);
        if (v === undefined) return `session tag ${k} needs a value the caller's identity does not have`;
        values[k] = v;
      }
      return { sessionName, tags: Object.freeze(values), key: JSON.stringify([sessionName, ...tags.map(([k]) => values[k])]) };
    },
    peek: (req) => cache.peek(req.key),
    assume(req) {
      // The cache calls `load` synchronously, which reads the request before its first await.
      requests.set(req.key, req);
      try {
        return cache.get(req.key);
      } finally {
        requests.delete(req.key);
      }
    },
    close() {
      cache.clear();
      factory.destroy();
    },
  };
}
