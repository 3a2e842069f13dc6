/** Reading a SigV4 credential out of a request: the Authorization header form or the presigned-URL (query) form. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Refusal } from '../../errors.js';
import { ALGORITHM, parseQuery, type QueryBag } from './canonical.js';

/** Everything the client claims about its signature, before any of it is checked. */
export interface SignedParts {
  readonly form: 'header' | 'query';
  readonly accessKeyId: string;
  /** `date/region/service/terminal` from the credential, as sent. */
  readonly scope: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly terminal: string;
  readonly signedHeaders: readonly string[];
  /** The 32 signature bytes. */
  readonly signature: Buffer;
  /** The request time in ISO 8601 basic form (`20150830T123600Z`), as it enters the string to sign. */
  readonly amzDate: string;
  readonly timeMs: number;
  /** Which header carried the time in the header form (`x-amz-date` or `date`). */
  readonly dateHeader?: 'x-amz-date' | 'date';
  /** X-Amz-Expires of a presigned URL, in seconds. */
  readonly expiresSec?: number;
  readonly securityToken?: string;
  /** The decoded query (the canonical query is built from it). */
  readonly query: QueryBag;
}

export type ParseOutcome = { ok: true; parts: SignedParts } | { ok: false; refusal: Refusal };

const MAX_PRESIGN_SEC = 7 * 24 * 3600;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const PRESIGN_PARAM = /(?:^|&)X-Amz-Algorithm=/;
// Lower-case tchar (RFC 9110) names separated by `;`.
const SIGNED_HEADERS = /^[a-z0-9!#$%&'*+.^_`|~-]+(?:;[a-z0-9!#$%&'*+.^_`|~-]+)*$/;

const malformed = (detail: string): ParseOutcome => ({ ok: false, refusal: { code: 'token_malformed', detail } });

/** Whether the request carries a SigV4 credential at all (cheap; no parsing). */
export function hasSigV4Credential(headers: IncomingHttpHeaders, rawQuery: string): boolean {
  return headers.authorization?.startsWith('AWS4-') === true || PRESIGN_PARAM.test(rawQuery);
}

/** Parse the credential; refusals here are all `token_malformed`. Call only when hasSigV4Credential. */
export function parseSignedRequest(headers: IncomingHttpHeaders, rawQuery: string): ParseOutcome {
  const query = parseQuery(rawQuery);
  if (!query) return malformed('the query string is not valid percent-encoded UTF-8');
  const inHeader = headers.authorization?.startsWith('AWS4-') === true;
  const inQuery = query['X-Amz-Algorithm'] !== undefined;
  if (inHeader && inQuery) return malformed('send the signature in the Authorization header or in the query, not both');
  return inHeader ? fromHeader(headers, headers.authorization!, query) : fromQuery(query);
}

function fromHeader(headers: IncomingHttpHeaders, authorization: string, query: QueryBag): ParseOutcome {
  const space = authorization.indexOf(' ');
  const algorithm = space === -1 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) return malformed(`unsupported signing algorithm; only ${ALGORITHM} is accepted`);
  const fields = new Map<string, string>();
  for (const item of authorization.slice(space + 1).split(',')) {
    const part = item.trim();
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    if (eq <= 0 || fields.has(name) || !['Credential', 'SignedHeaders', 'Signature'].includes(name)) {
      return malformed('the Authorization header must hold Credential=, SignedHeaders= and Signature=, once each');
    }
    fields.set(name, part.slice(eq + 1));
  }
  const amzHeader = headers['x-amz-date'];
  const amz = amzHeader === undefined ? undefined : String(amzHeader);
  const time = amz !== undefined ? parseAmzDate(amz) : parseHttpDate(headers.date);
  if (!time) return malformed(amz !== undefined ? 'x-amz-date is not an ISO 8601 basic date such as 20150830T123600Z' : 'send the request time in x-amz-date (or date)');
  const token = headers['x-amz-security-token'];
  return assemble('header', fields.get('Credential'), fields.get('SignedHeaders'), fields.get('Signature'), {
    ...time, dateHeader: amz !== undefined ? 'x-amz-date' : 'date', query, ...(typeof token === 'string' ? { securityToken: token } : {}),
  });
}

function fromQuery(query: QueryBag): ParseOutcome {
  const one = (name: string): string | undefined => {
    const v = query[name];
    return typeof v === 'string' ? v : undefined;
  };
  if (one('X-Amz-Algorithm') !== ALGORITHM) return malformed(`unsupported or repeated X-Amz-Algorithm; only ${ALGORITHM} is accepted`);
  const time = parseAmzDate(one('X-Amz-Date'));
  if (!time) return malformed('X-Amz-Date is missing or not an ISO 8601 basic date such as 20150830T123600Z');
  const expires = one('X-Amz-Expires');
  const expiresSec = expires !== undefined && /^[0-9]{1,7}$/.test(expires) ? Number(expires) : NaN;
  if (!(expiresSec >= 1 && expiresSec <= MAX_PRESIGN_SEC)) return malformed(`X-Amz-Expires must be a number of seconds from 1 to ${MAX_PRESIGN_SEC} (7 days)`);
  const token = one('X-Amz-Security-Token');
  return assemble('query', one('X-Amz-Credential'), one('X-Amz-SignedHeaders'), one('X-Amz-Signature'), {
    ...time, expiresSec, query, ...(token !== undefined ? { securityToken: token } : {}),
  });
}

type Rest = Pick<SignedParts, 'amzDate' | 'timeMs' | 'query'> & Partial<Pick<SignedParts, 'dateHeader' | 'expiresSec' | 'securityToken'>>;

function assemble(form: SignedParts['form'], credential: string | undefined, signedHeaders: string | undefined, signature: string | undefined, rest: Rest): ParseOutcome {
  const scope = credential?.split('/');
  if (!scope || scope.length !== 5 || scope.some((s) => s === '')) return malformed('the credential must be <access key id>/<yyyymmdd>/<region>/<service>/aws4_request');
  if (!signedHeaders || !SIGNED_HEADERS.test(signedHeaders)) return malformed('SignedHeaders must be lower-case header names separated by ";"');
  if (!signature || !SIGNATURE.test(signature)) return malformed('the signature must be 64 lower-case hex digits');
  const [accessKeyId, scopeDate, region, service, terminal] = scope as [string, string, string, string, string];
  return {
    ok: true,
    parts: {
      form, accessKeyId, scope: scope.slice(1).join('/'), scopeDate, region, service, terminal,
      signedHeaders: signedHeaders.split(';'), signature: Buffer.from(signature, 'hex'), ...rest,
    },
  };
}

/** `20150830T123600Z` → time; undefined unless it is a real UTC date in exactly that form. */
export function parseAmzDate(value: string | undefined): { amzDate: string; timeMs: number } | undefined {
  const m = value === undefined ? null : AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const timeMs = Date.UTC(y, mo - 1, d, h, mi, s);
  return basicDate(timeMs) === value ? { amzDate: value, timeMs } : undefined;
}

/** An HTTP `Date` header (used when there is no x-amz-date), turned into the basic form that is signed. */
function parseHttpDate(value: string | undefined): { amzDate: string; timeMs: number } | undefined {
  const timeMs = value === undefined ? NaN : Date.parse(value);
  return Number.isFinite(timeMs) ? { amzDate: basicDate(timeMs), timeMs } : undefined;
}

/** Epoch milliseconds → `20150830T123600Z`. */
export function basicDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}
