import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../../src/authz/evaluate.js';
import { makeIdentity, type Identity } from '../../src/identity/identity.js';

const alice: Identity = makeIdentity({
  provider: 'entra', issuer: 'https://login.example/t1/v2.0', subject: 'alice', clientId: 'app-1', tenant: 't1',
  roles: ['Metrics.Read', 'reader'], groups: ['eng'], scopes: ['orders.read', 'orders.write'], authMethod: 'jwt',
  claims: { sub: 'alice', email_verified: true, department: 'finance', realm_access: { roles: ['kc-admin'] }, amr: ['pwd', 'mfa'], level: 3 },
});

test('allow: the first matching rule is named in the decision', () => {
  const policy = compilePolicy([{ name: 'writers', scopes: ['orders.admin'] }, { name: 'readers', roles: ['Metrics.Read'] }], undefined);
  assert.deepEqual(policy.evaluate(alice), { allow: true, rule: 'readers', reason: 'allowed' });
});

test('no rule matched: refused with no_rule_matched', () => {
  const policy = compilePolicy([{ roles: ['Admin'] }, { groups: ['ops'] }], undefined);
  const d = policy.evaluate(alice);
  assert.equal(d.allow, false);
  assert.equal(d.reason, 'no_rule_matched');
  assert.equal(!d.allow && d.refusal.code, 'no_rule_matched');
});

test('deny: a matching deny rule refuses with denied_by_rule and its name', () => {
  const policy = compilePolicy(undefined, [{ name: 'no-eng', groups: ['eng'] }]);
  assert.deepEqual(policy.evaluate(alice), {
    allow: false, rule: 'no-eng', reason: 'denied_by_rule', detail: 'denied by rule no-eng',
    refusal: { code: 'denied_by_rule', detail: 'denied by rule no-eng' },
  });
});

test('deny overrides allow', () => {
  const policy = compilePolicy([{ name: 'readers', roles: ['reader'] }], [{ name: 'finance-blocked', claims: { department: 'finance' } }]);
  const d = policy.evaluate(alice);
  assert.equal(d.allow, false);
  assert.equal(d.rule, 'finance-blocked');
});

test('no allow list: any authenticated caller; an empty allow list: nobody', () => {
  assert.equal(compilePolicy(undefined, undefined).evaluate(alice).allow, true);
  assert.equal(compilePolicy([], undefined).evaluate(alice).allow, false);
});

test('conditions: all must hold; lists are all-of, anyOf is any-of', () => {
  const all = compilePolicy([{ roles: ['reader', 'Admin'] }], undefined);
  assert.equal(all.evaluate(alice).allow, false);
  const any = compilePolicy([{ roles: { anyOf: ['Admin', 'reader'] } }], undefined);
  assert.equal(any.evaluate(alice).allow, true);
  const both = compilePolicy([{ roles: ['reader'], tenant: 't2' }], undefined);
  assert.equal(both.evaluate(alice).allow, false);
});

test('subject, client id, tenant and provider conditions', () => {
  assert.equal(compilePolicy([{ subject: ['bob', 'alice'] }], undefined).evaluate(alice).allow, true);
  assert.equal(compilePolicy([{ subject: 'bob' }], undefined).evaluate(alice).allow, false);
  assert.equal(compilePolicy([{ clientId: 'app-1', tenant: 't1', provider: 'entra' }], undefined).evaluate(alice).allow, true);
  assert.equal(compilePolicy([{ clientId: 'app-2' }], undefined).evaluate(alice).allow, false);
});

test('claim conditions: equals, contains, in, dotted paths, booleans and numbers', () => {
  const ok = (claims: Record<string, unknown>) => compilePolicy([{ claims: claims as never }], undefined).evaluate(alice).allow;
  assert.equal(ok({ email_verified: true }), true);
  assert.equal(ok({ email_verified: false }), false);
  assert.equal(ok({ department: { equals: 'finance' } }), true);
  assert.equal(ok({ amr: { contains: 'mfa' } }), true);
  assert.equal(ok({ amr: { contains: 'hwk' } }), false);
  assert.equal(ok({ 'realm_access.roles': { contains: 'kc-admin' } }), true);
  assert.equal(ok({ level: { in: [2, 3] } }), true);
  assert.equal(ok({ level: 4 }), false);
  assert.equal(ok({ missing: 'x' }), false);
});

test('trace explains every rule, the same evaluation explain prints', () => {
  const policy = compilePolicy([{ name: 'admins', roles: ['Admin'] }, { name: 'readers', roles: ['reader'] }], [{ name: 'ops-only', groups: ['ops'] }]);
  const trace = policy.trace(alice);
  assert.deepEqual(trace.map((t) => [t.kind, t.rule, t.matched]), [['deny', 'ops-only', false], ['allow', 'admins', false], ['allow', 'readers', true]]);
  assert.match(trace[1]!.why!, /roles missing Admin/);
});
