// Config validation of the sigv4 credential: the schema's checks and what the schema cannot say, each
// a located issue (file:line, the path and a fix).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/issue.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
const ENV = { SECRET: 'from-the-environment' };
const PROVIDERS = { entra: { type: 'oidc', issuer: 'https://login.microsoftonline.com/t/v2.0', audience: 'api://gateway' } };
const ROLE = 'arn:aws:iam::123456789012:role/orders-reader';
const IRSA = '/var/run/secrets/eks.amazonaws.com/serviceaccount/token';

function config(auth: Record<string, unknown>[], route: Record<string, unknown> = { authenticate: ['entra'] }, upstream: Record<string, unknown> = {}): string {
  return stringify({ providers: PROVIDERS, routes: [{ name: 'r', match: { path: '/*' }, ...route, upstream: { url: 'https://orders.execute-api.eu-west-1.amazonaws.com', ...upstream, auth } }] });
}
const sigv4 = (credentials: Record<string, unknown>, o: Record<string, unknown> = {}) => ({ type: 'sigv4', service: 'execute-api', region: 'eu-west-1', credentials, ...o });
const web = (o: Record<string, unknown> = {}) => sigv4({ webIdentity: { roleArn: ROLE, tokenFile: IRSA, ...o } });
const oauth2 = { tokenUrl: 'https://login.microsoftonline.com/t/oauth2/v2.0/token', clientId: 'gw', clientSecret: '${env:SECRET}', scope: 'api://aws/.default' };

function error(text: string): ConfigError | undefined {
  try {
    loadConfigText(text, FILE, ENV);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
}
const messages = (text: string): string[] => error(text)?.issues.map((i) => `${i.path}: ${i.message}`) ?? [];

describe('sigv4 credentials in validation', () => {
  it('valid configs load: static keys, IRSA token file, the gateway\'s OAuth2 token, per caller with a policy', () => {
    for (const auth of [
      sigv4({ static: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: '${env:SECRET}' } }, { payload: 'unsigned', signedHeaders: ['content-type', 'x-amz-target'] }),
      web(), web({ tokenFile: undefined, token: { oauth2 } }),
      web({ sessionName: 'gh-{claim:oid}', policy: '{"Version":"2012-10-17","Statement":[]}', durationSeconds: 900, stsEndpoint: 'https://sts.eu-west-1.amazonaws.com' }),
    ]) assert.deepEqual(messages(config([auth])), [], JSON.stringify(auth));
  });

  it('an issue is located at its line with the path', () => {
    const err = error(config([web({ policy: 'not json' })]));
    assert.match(String(err?.message), /gatehouse\.yaml:\d+:\d+: routes\[0\]\.upstream\.auth\[0\]\.credentials\.webIdentity\.policy: not valid JSON/);
  });

  it('credentials: exactly one of static and webIdentity', () => {
    assert.deepEqual(messages(config([sigv4({})])), ['/routes/0/upstream/auth/0/credentials: missing credentials: set `static` (accessKeyId, secretAccessKey) or `webIdentity` (roleArn, tokenFile or token)']);
    const both = sigv4({ static: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: '${env:SECRET}' }, webIdentity: { roleArn: ROLE, tokenFile: IRSA } });
    assert.deepEqual(messages(config([both])), ['/routes/0/upstream/auth/0/credentials/webIdentity: set one of `static` and `webIdentity`, not both']);
  });

  it('a web identity needs exactly one of tokenFile and token', () => {
    assert.deepEqual(messages(config([web({ tokenFile: undefined })])), ['/routes/0/upstream/auth/0/credentials/webIdentity/tokenFile: missing required key "tokenFile": set `tokenFile` (e.g. the EKS IRSA token), or `token.oauth2` for the gateway\'s own OAuth2 token']);
    assert.match(messages(config([web({ token: { oauth2 } })]))[0]!, /webIdentity\/token: set one of `tokenFile` and `token`, not both/);
  });

  it('the OAuth2 client of the token is checked as oauth2 checks it', () => {
    assert.match(messages(config([web({ tokenFile: undefined, token: { oauth2: { ...oauth2, tokenUrl: 'http://login.example.com/token' } } })]))[0]!, /token\/oauth2\/tokenUrl: expected an https:\/\/ URL/);
    assert.match(messages(config([web({ tokenFile: undefined, token: { oauth2: { ...oauth2, clientSecret: undefined } } })]))[0]!, /token\/oauth2\/clientSecret: missing required key "clientSecret"/);
  });

  it('STS endpoint: https, or http only to a loopback address', () => {
    assert.match(messages(config([web({ stsEndpoint: 'http://sts.example.com' })]))[0]!, /stsEndpoint: expected an https:\/\/ URL \(http:\/\/ only to a loopback address\)/);
    assert.deepEqual(messages(config([web({ stsEndpoint: 'http://127.0.0.1:4566' })])), []);
  });

  it('session names: known placeholders, STS\'s characters; a per-caller name needs an authenticated route', () => {
    assert.match(messages(config([web({ sessionName: '{email}' })]))[0]!, /sessionName: unknown placeholder \{email\}: use \{subject\}/);
    assert.match(messages(config([web({ sessionName: 'gate house' })]))[0]!, /sessionName: a role session name may only contain/);
    assert.match(messages(config([web({ sessionName: '{subject}' })], { public: true }))[0]!, /route "r" is public: a session name made from the caller needs an authenticated caller/);
    assert.deepEqual(messages(config([web({ sessionName: 'gatehouse-fixed' })], { public: true })), []);
  });

  it('sigv4 signs the finished request: last in upstream.auth, and not with forwardAuthorization', () => {
    const header = { type: 'header', name: 'x-api-key', value: '${env:SECRET}' };
    assert.match(messages(config([web(), header]))[0]!, /^\/routes\/0\/upstream\/auth\/0: route "r": a sigv4 credential signs the finished request, so it must be the last entry/);
    assert.deepEqual(messages(config([header, web()])), []);
    assert.match(messages(config([web()], undefined, { forwardAuthorization: true }))[0]!, /forwardAuthorization: route "r": `forwardAuthorization: true` contradicts the sigv4 credential/);
  });

  it('the schema refuses a role that is not an IAM role ARN, an unknown payload mode, a short duration', () => {
    assert.match(messages(config([web({ roleArn: 'orders-reader' })])).join('\n'), /roleArn/);
    assert.match(messages(config([sigv4({ static: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' } }, { payload: 'chunked' })])).join('\n'), /payload/);
    assert.match(messages(config([web({ durationSeconds: 60 })])).join('\n'), /durationSeconds/);
  });
});
