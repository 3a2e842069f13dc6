// Parts of the sigv4 credential: role session names, the query as signed and sent, and the STS
// credential cache with a pinned clock (expiry → a new AssumeRoleWithWebIdentity), against the STS
// stand-in (a cloud endpoint, so a test double) spoken to by the real @aws-sdk/client-sts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeIdentity } from '../../src/identity/identity.js';
import { compileSessionName } from '../../src/outbound/credentials/sigv4/session.js';
import { splitQuery } from '../../src/outbound/credentials/sigv4/sign.js';
import { createWebIdentityRoles, StsError } from '../../src/outbound/credentials/sigv4/sts.js';
import { startSigningKeys, type SigningKeys } from '../harness/provider-tokens.js';
import { startStsStandIn, type StsStandIn } from '../harness/aws-standin.js';

const who = (subject: string, claims: Record<string, unknown> = {}) => makeIdentity({
  provider: 'p', subject, roles: [], groups: [], scopes: [], authMethod: 'jwt', claims, issuer: undefined, clientId: 'app-1', tenant: undefined, expiresAt: undefined,
});

describe('role session names', () => {
  it('a fixed name is the same for everyone, with or without a caller', () => {
    const s = compileSessionName('gatehouse-orders');
    assert.equal(s.perCaller, false);
    assert.deepEqual([s.name(undefined), s.name(who('a'))], ['gatehouse-orders', 'gatehouse-orders']);
    assert.equal(compileSessionName(undefined).name(undefined), 'gatehouse');
  });

  it('placeholders take the caller\'s values, reduced to STS\'s characters and cut to 64', () => {
    const s = compileSessionName('gh-{subject}');
    assert.equal(s.perCaller, true);
    assert.equal(s.name(who('alice@example.com')), 'gh-alice@example.com');
    assert.equal(s.name(who('Bob Smith/ops:x;y\n')), 'gh-Bob-Smith-ops-x-y-');
    assert.equal(s.name(who('x'.repeat(100)))!.length, 64);
    assert.equal(compileSessionName('{client_id}.{claim:oid}').name(who('s', { oid: 'a1b2' })), 'app-1.a1b2');
  });

  it('no caller, or a placeholder without a value: no name (the request is refused)', () => {
    const s = compileSessionName('{claim:email}');
    assert.equal(s.name(undefined), undefined);
    assert.equal(s.name(who('s')), undefined);
    assert.equal(s.name(who('s', { email: { nested: true } })), undefined);
  });

  it('unknown placeholders and characters STS refuses are config errors', () => {
    assert.throws(() => compileSessionName('{email}'), /unknown placeholder \{email\}/);
    assert.throws(() => compileSessionName('a b'), /may only contain/);
  });
});

describe('the query as signed and sent', () => {
  it('presigning parameters of any spelling are dropped; the rest is re-encoded as signed', () => {
    const q = splitQuery('/p?X-Amz-Signature=00&x-amz-security-token=t&X-AMZ-CREDENTIAL=c&a=x%20y&b=%2F&a=2&flag');
    assert.deepEqual(q.query, { a: ['x y', '2'], b: '/', flag: null });
    assert.equal(q.wire, '/p?a=x%20y&b=%2F&a=2&flag');
    assert.equal(q.path, '/p');
  });

  it('no query, or only dropped parameters: the bare path', () => {
    assert.equal(splitQuery('/p').wire, '/p');
    assert.equal(splitQuery('/p?X-Amz-Date=1').wire, '/p');
  });

  it('invalid percent-encoding is taken literally and sent re-encoded', () => {
    assert.deepEqual(splitQuery('/p?k=%zz').query, { k: '%zz' });
    assert.equal(splitQuery('/p?k=%zz').wire, '/p?k=%25zz');
  });
});

describe('temporary credentials from STS', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/unit';
  const ISS = 'https://oidc.eks.eu-west-1.amazonaws.com/id/UNIT';
  let keys: SigningKeys;
  let sts: StsStandIn;
  let tokenFile: string;
  before(async () => {
    keys = await startSigningKeys();
    sts = await startStsStandIn({ roles: { [ROLE]: { issuer: ISS, audience: 'sts.amazonaws.com', jwks: keys.jwksUri } } });
    const t = Math.floor(Date.now() / 1000);
    tokenFile = join(mkdtempSync(join(tmpdir(), 'gh-sts-unit-')), 'token');
    writeFileSync(tokenFile, await keys.sign({ iss: ISS, aud: 'sts.amazonaws.com', sub: 'system:serviceaccount:a:b', iat: t, exp: t + 3600 }));
  });
  after(async () => { await sts.close(); await keys.close(); });

  it('reused until refreshBefore ahead of Expiration, then assumed again; concurrent misses share one call', async () => {
    let clock = Date.now();
    const roles = createWebIdentityRoles({ roleArn: ROLE, tokenFile, stsEndpoint: sts.url, timeout: '10s', refreshBefore: '5m' }, 'eu-west-1', { baseDir: '/' }, { now: () => clock });
    try {
      const before = sts.calls.length;
      const all = await Promise.all(Array.from({ length: 5 }, () => roles.assume('s1')));
      assert.equal(sts.calls.length, before + 1);
      assert.ok(all.every((r) => r === all[0]));
      assert.equal(roles.peek('s1'), all[0]);
      clock += 54 * 60_000; // 6 minutes left of 60: still outside the 5-minute margin
      assert.equal(roles.peek('s1'), all[0]);
      clock += 2 * 60_000; // 4 minutes left
      assert.equal(roles.peek('s1'), undefined);
      const next = await roles.assume('s1');
      assert.notEqual(next.keys.accessKeyId, all[0]!.keys.accessKeyId);
      assert.equal(sts.calls.length, before + 2);
    } finally {
      roles.close();
    }
  });

  it('an STS error is a StsError naming the error, never the token; it is not cached', async () => {
    const roles = createWebIdentityRoles({ roleArn: 'arn:aws:iam::123456789012:role/not-trusted', tokenFile, stsEndpoint: sts.url, timeout: '10s', refreshBefore: '5m' }, 'eu-west-1', { baseDir: '/' });
    try {
      const err = await roles.assume('s').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof StsError);
      assert.match(err.reason, /AccessDenied.*\(HTTP 403\)/);
      const before = sts.calls.length;
      await assert.rejects(roles.assume('s'), StsError);
      assert.equal(sts.calls.length, before + 1, 'tried again');
    } finally {
      roles.close();
    }
  });

  it('a missing token file is a StsError saying so', async () => {
    const roles = createWebIdentityRoles({ roleArn: ROLE, tokenFile: join(tmpdir(), 'no-such-token-file'), stsEndpoint: sts.url, timeout: '10s', refreshBefore: '5m' }, 'eu-west-1', { baseDir: '/' });
    try {
      await assert.rejects(roles.assume('s'), (e: unknown) => e instanceof StsError && /no such file/.test(e.reason));
    } finally {
      roles.close();
    }
  });
});
