// jose's header and claim rules, kept so that refusal codes did not change when fast-jwt took over
// the signature: each row was checked against jose's jwtVerify.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { claimRefusal, headerRefusal, normalizeTyp, type ClaimPolicy } from '../../src/authn/jwt/jwt-checks.js';

const NOW_MS = 1_700_000_000_500;
const NOW = 1_700_000_000;
const ALGS = new Set(['RS256', 'ES256']);
const policy: ClaimPolicy = { issuers: new Set(['https://id.example']), audience: ['api://a'], clockSkewSec: 30 };
const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => {
  const c: Record<string, unknown> = { iss: 'https://id.example', aud: 'api://a', iat: NOW, exp: NOW + 300, ...extra };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
};

describe('jose typ comparison', () => {
  it('treats a typ without a slash as an application/ media type, case-insensitively', () => {
    assert.equal(normalizeTyp('at+jwt'), 'application/at+jwt');
    assert.equal(normalizeTyp('Application/AT+JWT'), 'application/at+jwt');
    assert.equal(normalizeTyp('x/y'), 'x/y');
    const p = { ...policy, typ: normalizeTyp('x/y') };
    // fast-jwt would accept application/x/y for x/y; jose does not, and neither do we.
    assert.equal(claimRefusal({ typ: 'application/x/y' }, claims(), p, NOW_MS), 'token_type_invalid');
    assert.equal(claimRefusal({ typ: 'X/Y' }, claims(), p, NOW_MS), undefined);
  });
});

describe('header rules (before the key lookup)', () => {
  const cases: Array<[Record<string, unknown>, string | undefined]> = [
    [{ alg: 'RS256' }, undefined],
    [{ alg: 'RS384' }, 'algorithm_not_allowed'],
    [{ alg: 'none' }, 'algorithm_not_allowed'],
    [{ alg: 'HS256' }, 'algorithm_not_allowed'],
    [{}, 'token_malformed'],
    [{ alg: '' }, 'token_malformed'],
    [{ alg: 5 }, 'token_malformed'],
    [{ alg: 'RS256', crit: ['b64'], b64: true }, undefined],
    [{ alg: 'RS256', crit: ['b64'], b64: false }, undefined],
    [{ alg: 'RS256', crit: ['b64'] }, 'token_malformed'],
    [{ alg: 'RS256', crit: ['b64'], b64: 'no' }, 'token_malformed'],
    [{ alg: 'RS256', crit: ['exp'], exp: 1 }, 'token_malformed'],
    [{ alg: 'RS256', crit: [] }, 'token_malformed'],
    [{ alg: 'RS256', crit: 'b64', b64: true }, 'token_malformed'],
    // crit is checked before alg, as jose does.
    [{ alg: 'none', crit: ['x'] }, 'token_malformed'],
    [{ alg: 'RS256', b64: false }, undefined],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${expected ?? 'accepted'}`, () => assert.equal(headerRefusal(header, ALGS), expected));
  }
});

describe('claim rules (after the signature), in jose order', () => {
  const maxAge: ClaimPolicy = { ...policy, maxTokenAgeSec: 60 };
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, ClaimPolicy, string | undefined]> = [
    ['a good token', {}, claims(), policy, undefined],
    ['b64: false under crit', { crit: ['b64'], b64: false }, claims(), policy, 'token_malformed'],
    ['b64: false without crit is ignored', { b64: false }, claims(), policy, undefined],
    ['missing iss', {}, claims({ iss: undefined }), policy, 'issuer_unknown'],
    ['iss not exact (a custom acceptIssuer let it through)', {}, claims({ iss: 'https://ID.example' }), policy, 'issuer_unknown'],
    ['missing aud', {}, claims({ aud: undefined }), policy, 'audience_mismatch'],
    ['aud null', {}, claims({ aud: null }), policy, 'audience_mismatch'],
    ['aud array with the audience', {}, claims({ aud: ['x', 'api://a'] }), policy, undefined],
    ['aud array with a number and the audience (jose accepts)', {}, claims({ aud: [5, 'api://a'] }), policy, undefined],
    ['aud not checked (preset)', {}, claims({ aud: undefined }), { ...policy, audience: undefined }, undefined],
    ['missing exp', {}, claims({ exp: undefined }), policy, 'claim_invalid'],
    ['exp a string', {}, claims({ exp: 'soon' }), policy, 'claim_invalid'],
    ['iat a string, no max age', {}, claims({ iat: 'x' }), policy, 'claim_invalid'],
    ['nbf a string', {}, claims({ nbf: 'x' }), policy, 'claim_invalid'],
    ['nbf beyond the skew', {}, claims({ nbf: NOW + 31 }), policy, 'token_not_yet_valid'],
    ['nbf within the skew', {}, claims({ nbf: NOW + 30 }), policy, undefined],
    ['exp beyond the skew', {}, claims({ exp: NOW - 30 }), policy, 'token_expired'],
    ['exp within the skew', {}, claims({ exp: NOW - 29 }), policy, undefined],
    ['iat in the future beyond the skew', {}, claims({ iat: NOW + 31 }), policy, 'token_issued_in_future'],
    ['max age: missing iat', {}, claims({ iat: undefined }), maxAge, 'claim_invalid'],
    ['max age: too old', {}, claims({ iat: NOW - 91 }), maxAge, 'token_too_old'],
    ['max age: old but within the skew', {}, claims({ iat: NOW - 90 }), maxAge, undefined],
    ['max age: iat in the future', {}, claims({ iat: NOW + 31 }), maxAge, 'token_issued_in_future'],
    // Several failures: the first in jose's order names the refusal.
    ['aud before exp', {}, claims({ aud: 'x', exp: NOW - 100 }), policy, 'audience_mismatch'],
    ['typ before everything', { typ: 'JWT' }, claims({ aud: 'x' }), { ...policy, typ: 'application/at+jwt' }, 'token_type_invalid'],
    ['presence of exp before the aud value', {}, claims({ aud: 'x', exp: undefined }), policy, 'claim_invalid'],
    ['iat type before nbf', {}, claims({ iat: 'x', nbf: NOW + 100 }), policy, 'claim_invalid'],
    ['nbf before exp', {}, claims({ nbf: NOW + 100, exp: NOW - 100 }), policy, 'token_not_yet_valid'],
  ];
  for (const [name, header, payload, p, expected] of cases) {
    it(`${name} → ${expected ?? 'accepted'}`, () => assert.equal(claimRefusal(header, payload, p, NOW_MS), expected));
  }
});
