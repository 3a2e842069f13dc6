/**
 * Temporary AWS credentials by STS AssumeRoleWithWebIdentity (the AWS SDK's STS client): the web
 * identity token from a file (EKS IRSA, re-read when it rotates) or the gateway's own OAuth2 access
 * token; cached per role session name until `refreshBefore` ahead of their expiry, one STS call per
 * session name at a time (ExpiringCache). Every failure is a StsError whose reason is safe for the
 * audit line (an STS error name and status, a fixed phrase, never a token or key).
 */
import { Agent } from 'node:https';
import { isAbsolute, resolve } from 'node:path';
import type * as StsModule from '@aws-sdk/client-sts';
import { parseDuration } from '../../../config/units.js';
import { ExpiringCache } from '../expiring.js';
import { fileTokenSource, type TokenSource } from '../token-source.js';
import { TokenEndpointError } from '../oauth2/client.js';
import { oauth2TokenSource, type OAuth2Context } from '../oauth2/token-source.js';
import type { WebIdentityConfig } from './schema.js';

export type StsSdk = typeof StsModule;
type STSClient = StsModule.STSClient;
/** The part of an AssumeRole / AssumeRoleWithWebIdentity output read here (both have it). */
type StsAnswer = Pick<StsModule.AssumeRoleCommandOutput, 'Credentials' | 'AssumedRoleUser'>;
let sdkLoad: Promise<StsSdk> | undefined;
const loadSdk = (): Promise<StsSdk> => (sdkLoad ??= import('@aws-sdk/client-sts'));

/** Distinct role sessions (callers) whose credentials are kept. */
const MAX_SESSIONS = 10_000;
const MAX_REASON = 200;

/** Keys that sign; the secret never leaves this process except as an HMAC. */
export interface AwsKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** What STS gave for one role session. */
export interface AssumedRole {
  readonly keys: AwsKeys;
  /** `AROA…:<session name>`: who the audit line says signed. */
  readonly assumedRoleId: string;
  readonly arn: string;
  /** When STS said the keys stop working. */
  readonly expiration: Date;
}

export class StsError extends Error {
  override readonly name = 'StsError';
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(`sts: ${reason}`, options);
  }
}

export interface WebIdentityRoles {
  /** Where the web identity token comes from (a path, a client at a token endpoint). */
  readonly tokenLabel: string;
  peek(sessionName: string): AssumedRole | undefined;
  /** Credentials of session `sessionName`; rejects with StsError. */
  assume(sessionName: string): Promise<AssumedRole>;
  start(): Promise<void>;
  close(): void;
}

/** The token source of a webIdentity config: its file, or its OAuth2 client. */
export function webIdentityTokenSource(cfg: WebIdentityConfig, ctx: OAuth2Context): TokenSource {
  if (cfg.tokenFile !== undefined) return fileTokenSource(isAbsolute(cfg.tokenFile) ? cfg.tokenFile : resolve(ctx.baseDir, cfg.tokenFile));
  if (cfg.token?.oauth2 !== undefined) return oauth2TokenSource(cfg.token.oauth2, ctx);
  throw new Error('sigv4: webIdentity needs `tokenFile` or `token.oauth2`');
}

/** A safe, short reason of an SDK or network error. */
export function reasonOf(err: unknown, token: string | undefined): string {
  if (err instanceof StsError) return err.reason;
  if (err instanceof TokenEndpointError) return `web identity token: ${err.reason}`;
  if (!(err instanceof Error)) return 'unexpected error';
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (err as { code?: string }).code;
  let message = err.message.slice(0, MAX_REASON);
  if (token !== undefined) message = message.split(token).join('REDACTED');
  return `${err.name}${status !== undefined ? ` (HTTP ${status})` : ''}${code !== undefined && code !== err.name ? ` ${code}` : ''}: ${message}`;
}

/** Where STS is and how long it has; `credentials` sign the calls (none for AssumeRoleWithWebIdentity). */
export type StsClientFactory = () => Promise<{ client: STSClient; sdk: StsSdk }>;

export function stsClientFactory(cfg: WebIdentityConfig, region: string, credentials: StsModule.STSClientConfig['credentials']): { get: StsClientFactory; destroy(): void } {
  const timeoutMs = parseDuration(cfg.timeout ?? '10s');
  const clientConfig = {
    region: cfg.stsRegion ?? region,
    ...(cfg.stsEndpoint !== undefined ? { endpoint: cfg.stsEndpoint } : {}),
    // One retry of what the SDK deems retryable (throttling, 5xx, a reset connection), not more: a caller waits.
    maxAttempts: 2,
    requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs, httpsAgent: new Agent({ keepAlive: true }) },
    credentials,
  };
  // The SDK is loaded when the first role is assumed: configs without a web identity (and the CLI) never pay for it.
  let client: STSClient | undefined;
  return {
    async get() {
      const sdk = await loadSdk();
      client ??= new sdk.STSClient(clientConfig);
      return { client, sdk };
    },
    destroy: () => client?.destroy(),
  };
}

/** What STS answered to AssumeRole or AssumeRoleWithWebIdentity, as a cache entry; incomplete Credentials are an StsError. */
export function assumedRole(out: StsAnswer, roleArn: string, sessionName: string, what: string): { value: AssumedRole; expiresAt: number } {
  const c = out.Credentials;
  if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined || c.SessionToken === undefined || !(c.Expiration instanceof Date)) {
    throw new StsError(`${what} has no complete Credentials`);
  }
  const role: AssumedRole = {
    keys: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken },
    assumedRoleId: out.AssumedRoleUser?.AssumedRoleId ?? `${roleArn}:${sessionName}`,
    arn: out.AssumedRoleUser?.Arn ?? roleArn,
    expiration: c.Expiration,
  };
  return { value: role, expiresAt: c.Expiration.getTime() };
}

export function createWebIdentityRoles(cfg: WebIdentityConfig, region: string, ctx: OAuth2Context, opts: { now?: () => number } = {}): WebIdentityRoles {
  const source = webIdentityTokenSource(cfg, ctx);
  // AssumeRoleWithWebIdentity is not signed: the client must never go looking for credentials of its own.
  const factory = stsClientFactory(cfg, region, () => Promise.reject(new StsError('AssumeRoleWithWebIdentity is unsigned; no credentials are used')));
  const stsClient = factory.get;
  const durationSeconds = cfg.durationSeconds ?? 3600;

  const load = async (sessionName: string) => {
    let token: string | undefined;
    try {
      token = await source.token();
      const { client: sts, sdk } = await stsClient();
      const out = await sts.send(new sdk.AssumeRoleWithWebIdentityCommand({
        RoleArn: cfg.roleArn, RoleSessionName: sessionName, WebIdentityToken: token, DurationSeconds: durationSeconds,
        ...(cfg.policy !== undefined ? { Policy: cfg.policy } : {}),
      }));
      return assumedRole(out, cfg.roleArn, sessionName, 'the answer');
    } catch (err) {
      throw new StsError(reasonOf(err, token), { cause: err });
    }
  };
  const cache = new ExpiringCache<AssumedRole>({
    max: MAX_SESSIONS,
    refreshBeforeMs: parseDuration(cfg.refreshBefore ?? '5m'),
    load,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return {
    tokenLabel: source.label,
    peek: (sessionName) => cache.peek(sessionName),
    assume: (sessionName) => cache.get(sessionName),
    start: () => source.start(),
    close() {
      source.close();
      cache.clear();
      factory.destroy();
    },
  };
}
