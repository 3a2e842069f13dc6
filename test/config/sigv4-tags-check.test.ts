// Config validation of `webIdentity.assumeRole` (session tags by role chaining): each problem a
// located issue (file:line, the path and a fix).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/issue.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const PROVIDERS = { entra: { type: 'oidc', issuer: 'https://login.microsoftonline.com/t/v2.0', audience: 'api://gateway' } };
const BASE = 'arn:aws:iam::123456789012:role/gatehouse-base';
const TARGET = 'arn:aws:iam::123456789012:role/orders-tagged';
const AT = '/routes/0/upstream/auth/0/credentials/webIdentity';

function config(assumeRole: Record<string, unknown>, route: Record<string, unknown> = { authenticate: ['entra'] }, wi: Record<string, unknown> = {}): string {
  const auth = [{ type: 'sigv4', service: 'execute-api', region: 'eu-west-1', credentials: { webIdentity: { roleArn: BASE, tokenFile: '/var/run/token', ...wi, assumeRole: { roleArn: TARGET, ...assumeRole } } } }];
  return stringify({ providers: PROVIDERS, routes: [{ name: 'r', match: { path: '/*' }, ...route, upstream: { url: 'https://orders.execute-api.eu-west-1.amazonaws.com', auth } }] });
}
function error(text: string): ConfigError | undefined {
  try {
    loadConfigText(text, FILE, {});
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
}
const messages = (text: string): string[] => error(text)?.issues.map((i) => `${i.path}: ${i.message}`) ?? [];

describe('sigv4 webIdentity.assumeRole in validation', () => {
  it('a valid chain loads: tags from claims, transitive keys, policy, an hour, external id', () => {
    assert.deepEqual(messages(config({
      sessionName: 'gh-{claim:oid}', sessionTags: { team: '{claim:team}', 'cost-center': 'cc:{claim:cc}', fixed: 'gatehouse' },
      transitiveTagKeys: ['team'], policy: '{"Version":"2012-10-17","Statement":[]}', durationSeconds: 3600, externalId: 'orders-42',
    })), []);
    assert.deepEqual(messages(config({})), [], 'sessionName defaults to {subject}, no tags');
  });

  it('an issue is located at its line with the path', () => {
    assert.match(String(error(config({ durationSeconds: 7200 }))?.message), /gatehouse\.yaml:\d+:\d+: routes\[0\]\.upstream\.auth\[0\]\.credentials\.webIdentity\.assumeRole\.durationSeconds: role chaining caps a session at 3600 seconds/);
  });

  it('tag keys: STS\'s characters, at most 128, not aws:, not repeated but for case', () => {
    assert.deepEqual(messages(config({ sessionTags: { 'team name!': 'x' } })), [`${AT}/assumeRole/sessionTags/team name!: tag key "team name!": a session tag key may only contain letters, digits, spaces and _ . : / = + - @`]);
    assert.match(messages(config({ sessionTags: { ['k'.repeat(129)]: 'x' } }))[0]!, /a session tag key has 1 to 128 characters/);
    assert.match(messages(config({ sessionTags: { 'aws:team': 'x' } }))[0]!, /may not start with `aws:`/);
    assert.match(messages(config({ sessionTags: { Team: 'x', team: 'y' } }))[0]!, /sessionTags\/team: tag key "team" repeats another key but for case/);
  });

  it('at most 50 tags', () => {
    const tags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']));
    assert.match(messages(config({ sessionTags: tags })).join('\n'), /assumeRole\/sessionTags: expected object to have no more than 50 properties/);
  });

  it('tag values: known placeholders, STS\'s characters, at most 256', () => {
    assert.match(messages(config({ sessionTags: { team: '{claim:team' + '}{email}' } }))[0]!, /sessionTags\/team: unknown placeholder \{email\}/);
    assert.match(messages(config({ sessionTags: { team: 'a&b' } }))[0]!, /a session tag value may only contain/);
    assert.match(messages(config({ sessionTags: { team: 'x'.repeat(257) } }))[0]!, /a session tag value has at most 256 characters/);
  });

  it('the chained session name: known placeholders; transitive keys name tags; the policy is JSON', () => {
    assert.match(messages(config({ sessionName: '{email}' }))[0]!, /assumeRole\/sessionName: unknown placeholder \{email\}/);
    assert.deepEqual(messages(config({ sessionTags: { team: '{claim:team}' }, transitiveTagKeys: ['dept'] })), [`${AT}/assumeRole/transitiveTagKeys/0: "dept" is not a key of \`sessionTags\`: a transitive tag key must name one of them`]);
    assert.match(messages(config({ policy: 'nope' }))[0]!, /assumeRole\/policy: not valid JSON/);
  });

  it('a public route: a session name or tag made from the caller is refused; fixed ones are fine', () => {
    const pub = { public: true };
    assert.match(messages(config({}, pub))[0]!, /assumeRole\/sessionName: route "r" is public: a session made from the caller needs an authenticated caller/);
    assert.match(messages(config({ sessionName: 'fixed', sessionTags: { team: '{claim:team}' } }, pub))[0]!, /assumeRole\/sessionTags\/team: route "r" is public/);
    assert.deepEqual(messages(config({ sessionName: 'fixed', sessionTags: { via: 'gatehouse' } }, pub)), []);
  });

  it('with assumeRole the base session name is the gateway\'s: it cannot name the caller', () => {
    assert.match(messages(config({}, undefined, { sessionName: '{subject}' }))[0]!, /webIdentity\/sessionName: with `assumeRole`, `webIdentity\.sessionName` names the gateway's base session/);
  });
});
