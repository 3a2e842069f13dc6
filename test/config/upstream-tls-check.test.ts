// Config validation of an upstream's TLS (upstream mTLS) and assertion settings: what the schema cannot say.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/issue.js';
import { OpensslCa, type Ca, type Pem } from '../harness/openssl-ca.js';

const pki = new OpensslCa();
let ca: Ca, client: Pem, expired: Pem;
let encryptedKey: string;
before(() => {
  ca = pki.makeCa('upstream-ca');
  client = pki.issue(ca, 'client', 'gatehouse');
  expired = pki.issue(ca, 'expired', 'gatehouse-old', { dates: ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'] });
  pki.encrypt(client, 'client-encrypted.key', 'open sesame');
  encryptedKey = pki.file('client-encrypted.key');
  writeFileSync(pki.file('passphrase'), 'open sesame');
  writeFileSync(pki.file('wrong-passphrase'), 'not it');
});
after(() => pki.remove());

const ref = (path: string): string => `\${file:${path}}`;
const config = (upstream: Record<string, unknown>): string =>
  stringify({ routes: [{ name: 'vm', match: { path: '/*' }, public: true, upstream: { url: 'https://10.0.0.4:8443', ca: ref(ca.file), ...upstream } }] });

function messages(text: string): string[] {
  try {
    loadConfigText(text, '/etc/gatehouse/gatehouse.yaml', {});
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('upstream tls in validation', () => {
  it('valid: a certificate and key, an encrypted key with its passphrase, minVersion alone', () => {
    for (const tls of [
      { cert: ref(client.certFile), key: ref(client.keyFile) },
      { cert: ref(client.certFile), key: ref(encryptedKey), passphrase: ref(pki.file('passphrase')) },
      { minVersion: 'TLSv1.3' },
    ]) assert.deepEqual(messages(config({ tls })), [], JSON.stringify(tls));
  });

  it('cert without key, key without cert, passphrase without key', () => {
    assert.deepEqual(messages(config({ tls: { cert: ref(client.certFile) } })), ['/routes/0/upstream/tls/key: missing required key "key": `tls.cert` needs the private key of that certificate']);
    assert.deepEqual(messages(config({ tls: { key: ref(client.keyFile) } })), ['/routes/0/upstream/tls/cert: missing required key "cert": `tls.key` needs the certificate it belongs to']);
    assert.deepEqual(messages(config({ tls: { passphrase: ref(pki.file('passphrase')) } })), ['/routes/0/upstream/tls/passphrase: `tls.passphrase` is only used with an encrypted `tls.key`']);
  });

  it('an encrypted key without its passphrase, or with the wrong one, names the key file', () => {
    assert.deepEqual(messages(config({ tls: { cert: ref(client.certFile), key: ref(encryptedKey) } })),
      [`/routes/0/upstream/tls/key: the client key (value from ${ref(encryptedKey)}) is an encrypted private key and \`tls.passphrase\` is not set`]);
    assert.deepEqual(messages(config({ tls: { cert: ref(client.certFile), key: ref(encryptedKey), passphrase: ref(pki.file('wrong-passphrase')) } })),
      [`/routes/0/upstream/tls/key: the client key (value from ${ref(encryptedKey)}) cannot be decrypted with \`tls.passphrase\``]);
  });

  it('an expired client certificate is refused at load', () => {
    assert.deepEqual(messages(config({ tls: { cert: ref(expired.certFile), key: ref(expired.keyFile) } })),
      [`/routes/0/upstream/tls/cert: the client certificate (value from ${ref(expired.certFile)}) expired on 2020-01-02T00:00:00.000Z: renew it`]);
  });

  it('a CA bundle that holds no certificate; tls or ca on an http:// upstream', () => {
    writeFileSync(pki.file('empty-ca.pem'), 'not a certificate');
    assert.deepEqual(messages(config({ ca: ref(pki.file('empty-ca.pem')) })),
      [`/routes/0/upstream/ca: the CA bundle (value from ${ref(pki.file('empty-ca.pem'))}) is not a PEM certificate (no "BEGIN CERTIFICATE" block): give the PEM certificate(s) of the CA that issued the upstream's certificate`]);
    assert.deepEqual(messages(config({ url: 'http://10.0.0.4:8080', tls: { cert: ref(client.certFile), key: ref(client.keyFile) } })), [
      '/routes/0/upstream/ca: `ca` is only used with an https:// upstream: use an https:// url, or remove `ca`',
      '/routes/0/upstream/tls: `tls` (a client certificate) is only used with an https:// upstream: use an https:// url, or remove `tls`',
    ]);
  });

  it('a key written as a literal is never echoed in an issue', () => {
    const text = config({ tls: { cert: ref(client.certFile), key: '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n' } });
    const found = messages(text);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^\/routes\/0\/upstream\/tls\/key: the client key is not a PEM private key/);
    assert.doesNotMatch(found[0]!, /MIGHAgEAMBMG|BEGIN/);
  });
});

describe('upstream assertion audience and issuer in validation', () => {
  it('accepted: a URI audience and an https issuer', () => {
    assert.deepEqual(messages(config({ assertion: { audience: 'api://orders-vm', issuer: 'https://gatehouse.example.com/vms' } })), []);
  });

  it('refused: empty, or with spaces (one aud value, one iss value)', () => {
    const found = messages(config({ assertion: { audience: 'orders vm', issuer: '' } }));
    assert.equal(found.length, 2, found.join('\n'));
    assert.deepEqual(found, [
      '/routes/0/upstream/assertion/audience: expected a value such as api://orders-vm (one value, no spaces), got string "orders vm"',
      '/routes/0/upstream/assertion/issuer: must not be empty',
    ]);
  });
});
