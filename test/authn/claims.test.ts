import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileClaimMapping, DEFAULT_CLAIMS, identityFromClaims, readClaimPath } from '../../src/identity/claims.js';
import { makeIdentity } from '../../src/identity/identity.js';

describe('claim mapping', () => {
  it('maps the defaults', () => {
    const id = identityFromClaims('kc', {
      iss: 'https://id.example', sub: 'u1', exp: 2000000000, roles: ['admin', 'dev', 'admin'], groups: 'ops  eng',
      scope: 'read write', scp: ['write', 'delete'], tid: 't1', azp: 'spa', client_id: 'ignored',
    }, DEFAULT_CLAIMS, 'jwt');
    assert.deepEqual(id, makeIdentity({
      provider: 'kc', issuer: 'https://id.example', subject: 'u1', clientId: 'spa', tenant: 't1',
      roles: ['admin', 'dev'], groups: ['ops', 'eng'], scopes: ['read', 'write', 'delete'], authMethod: 'jwt',
      claims: id!.claims, expiresAt: 2000000000,
    }));
  });

  it('returns undefined without a subject, and ignores non-string values', () => {
    assert.equal(identityFromClaims('p', { iss: 'x' }, DEFAULT_CLAIMS, 'jwt'), undefined);
    assert.equal(identityFromClaims('p', { sub: 42 }, DEFAULT_CLAIMS, 'jwt'), undefined);
    const id = identityFromClaims('p', { sub: 's', roles: ['a', 1, null, ''], scope: 7, exp: 'soon' }, DEFAULT_CLAIMS, 'jwt')!;
    assert.deepEqual(id.roles, ['a']);
    assert.deepEqual(id.scopes, []);
    assert.equal(id.expiresAt, undefined);
    assert.equal(id.clientId, undefined);
  });

  it('overrides only the fields given, from a string or a list', () => {
    const m = compileClaimMapping({ subject: ['oid', 'sub'], roles: 'realm_access.roles' });
    assert.deepEqual(m.subject, ['oid', 'sub']);
    assert.deepEqual(m.roles, ['realm_access.roles']);
    assert.deepEqual(m.scopes, ['scope', 'scp']);
    assert.deepEqual(m.clientId, ['azp', 'client_id', 'cid', 'appid']);
    assert.deepEqual(compileClaimMapping(), DEFAULT_CLAIMS);
    const id = identityFromClaims('entra', { sub: 'pairwise', oid: 'object-id', realm_access: { roles: ['r1'] }, roles: ['ignored'] }, m, 'jwt')!;
    assert.equal(id.subject, 'object-id');
    assert.deepEqual(id.roles, ['r1']);
  });

  it('reads dotted paths, preferring exact keys that contain dots', () => {
    const claims = {
      realm_access: { roles: ['a'] },
      'https://ns.example/roles': ['exact'],
      'https://ns.example': { '/roles': ['nested'] },
      'https://ns.example/claims': { tenant: 'acme' },
      resource_access: { 'api.v1': { roles: ['x'] } },
    };
    assert.deepEqual(readClaimPath(claims, 'realm_access.roles'), ['a']);
    assert.deepEqual(readClaimPath(claims, 'https://ns.example/roles'), ['exact']);
    assert.equal(readClaimPath(claims, 'https://ns.example/claims.tenant'), 'acme');
    assert.deepEqual(readClaimPath(claims, 'resource_access.api.v1.roles'), ['x']);
    assert.equal(readClaimPath(claims, 'realm_access.missing'), undefined);
    assert.equal(readClaimPath(claims, 'realm_access.roles.length'), undefined);
    assert.equal(readClaimPath(claims, 'realm_access.__proto__'), undefined);
    assert.equal(readClaimPath(claims, 'constructor'), undefined);
  });
});
