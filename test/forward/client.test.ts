import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import { compileTrustedProxies, resolveClient, type TrustedProxies } from '../../src/outbound/client.js';
import { startServer, type Running } from '../upstream/helpers.js';

const NONE = compileTrustedProxies([]);
const EDGE = compileTrustedProxies(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);

describe('compileTrustedProxies', () => {
  test('IPs and CIDRs, v4 and v6', () => {
    assert.equal(EDGE.isTrusted('10.200.3.4'), true);
    assert.equal(EDGE.isTrusted('11.0.0.1'), false);
    assert.equal(EDGE.isTrusted('192.0.2.7'), true);
    assert.equal(EDGE.isTrusted('192.0.2.8'), false);
    assert.equal(EDGE.isTrusted('2001:db8:1::9'), true);
    assert.equal(EDGE.isTrusted('2001:db9::1'), false);
  });

  test('IPv4-mapped IPv6 peers match IPv4 rules, and mapped entries match plain IPv4', () => {
    assert.equal(EDGE.isTrusted('::ffff:10.1.2.3'), true);
    assert.equal(EDGE.isTrusted('::FFFF:192.0.2.7'), true);
    assert.equal(EDGE.isTrusted('::ffff:11.1.2.3'), false);
    assert.equal(compileTrustedProxies(['::ffff:127.0.0.1']).isTrusted('127.0.0.1'), true);
  });

  test('empty list trusts nothing; garbage never matches', () => {
    assert.equal(NONE.isTrusted('127.0.0.1'), false);
    assert.equal(EDGE.isTrusted('not-an-ip'), false);
    assert.equal(EDGE.isTrusted(''), false);
  });

  test('invalid entries are rejected at compile time', () => {
    assert.throws(() => compileTrustedProxies(['10.0.0.0/33']), /prefix/);
    assert.throws(() => compileTrustedProxies(['2001:db8::/129']), /prefix/);
    assert.throws(() => compileTrustedProxies(['10.0.0.0/x']), /prefix/);
    assert.throws(() => compileTrustedProxies(['proxy.internal']), /not an IP/);
  });
});

const SPOOF: IncomingHttpHeaders = {
  host: 'gate.example',
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
  forwarded: 'for=6.6.6.6;proto=https;host=evil.example',
};

describe('resolveClient from an untrusted peer', () => {
  test('forwarding headers are ignored: socket address, socket proto, Host header', () => {
    for (const trusted of [NONE, EDGE]) {
      assert.deepEqual(resolveClient('203.0.113.9', false, SPOOF, trusted), {
        address: '203.0.113.9', proto: 'http', host: 'gate.example', forwardedFor: ['203.0.113.9'],
      });
    }
    assert.equal(resolveClient('203.0.113.9', true, SPOOF, EDGE).proto, 'https');
  });

  test('a mapped IPv4 socket address is reported as plain IPv4', () => {
    assert.deepEqual(resolveClient('::ffff:203.0.113.9', false, {}, NONE), {
      address: '203.0.113.9', proto: 'http', host: '', forwardedFor: ['203.0.113.9'],
    });
  });
});

describe('resolveClient from a trusted peer', () => {
  test('X-Forwarded-For is walked right to left, skipping trusted hops', () => {
    const client = resolveClient('10.0.0.1', false, { host: 'internal:8080', 'x-forwarded-for': '6.6.6.6, 198.51.100.4, 10.9.9.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example' }, EDGE);
    assert.deepEqual(client, { address: '198.51.100.4', proto: 'https', host: 'app.example', forwardedFor: ['198.51.100.4', '10.9.9.9', '10.0.0.1'] });
  });

  test('all hops trusted → the leftmost is the client', () => {
    assert.equal(resolveClient('10.0.0.1', false, { 'x-forwarded-for': '10.1.1.1, 10.2.2.2' }, EDGE).address, '10.1.1.1');
  });

  test('an unparseable hop stops the walk at the last verified address; ports and brackets are removed', () => {
    assert.equal(resolveClient('10.0.0.1', false, { 'x-forwarded-for': '198.51.100.4, unknown, 10.2.2.2' }, EDGE).address, '10.2.2.2');
    assert.equal(resolveClient('10.0.0.1', false, { 'x-forwarded-for': '198.51.100.4:5555' }, EDGE).address, '198.51.100.4');
    assert.equal(resolveClient('10.0.0.1', false, { 'x-forwarded-for': '[2001:db9::5]:443' }, EDGE).address, '2001:db9::5');
    assert.equal(resolveClient('10.0.0.1', false, { 'x-forwarded-for': '::ffff:198.51.100.4' }, EDGE).address, '198.51.100.4');
  });

  test('proto/host lists aligned with the hops pick the client hop; otherwise the nearest', () => {
    const aligned = resolveClient('10.0.0.1', false, { 'x-forwarded-for': '198.51.100.4, 10.2.2.2', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'a.example, b.internal' }, EDGE);
    assert.equal(aligned.proto, 'https');
    assert.equal(aligned.host, 'a.example');
    const unaligned = resolveClient('10.0.0.1', false, { 'x-forwarded-for': '198.51.100.4, 10.2.2.2', 'x-forwarded-proto': 'http, https, https' }, EDGE);
    assert.equal(unaligned.proto, 'https');
  });

  test('invalid X-Forwarded-Proto/-Host values fall back to the socket and Host header', () => {
    const client = resolveClient('10.0.0.1', true, { host: 'gate.example', 'x-forwarded-for': '198.51.100.4', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'bad host\tname' }, EDGE);
    assert.equal(client.proto, 'https');
    assert.equal(client.host, 'gate.example');
  });

  test('RFC 7239 Forwarded with a quoted IPv6 address and port', () => {
    const client = resolveClient('2001:db8::10', false, { forwarded: 'for="[2001:db9::1]:4711";proto=https;host="app.example:8443", for=10.3.3.3' }, EDGE);
    assert.deepEqual(client, { address: '2001:db9::1', proto: 'https', host: 'app.example:8443', forwardedFor: ['2001:db9::1', '10.3.3.3', '2001:db8::10'] });
  });

  test('a malformed Forwarded header vouches for nothing', () => {
    const client = resolveClient('10.0.0.1', false, { host: 'h', forwarded: 'for=6.6.6.6;for=7.7.7.7' }, EDGE);
    assert.equal(client.address, '10.0.0.1');
  });

  test('X-Forwarded-For wins when both are present', () => {
    const client = resolveClient('10.0.0.1', false, { 'x-forwarded-for': '198.51.100.4', forwarded: 'for=6.6.6.6' }, EDGE);
    assert.equal(client.address, '198.51.100.4');
  });

  test('a trusted peer without forwarding headers is itself the client', () => {
    assert.deepEqual(resolveClient('10.0.0.1', false, { host: 'h' }, EDGE), { address: '10.0.0.1', proto: 'http', host: 'h', forwardedFor: ['10.0.0.1'] });
  });
});

describe('resolveClient on a real server', () => {
  const servers: Running[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });
  async function serve(trusted: TrustedProxies): Promise<string> {
    const s = await startServer((req, res) => {
      res.end(JSON.stringify(resolveClient(req.socket.remoteAddress ?? '', false, req.headers, trusted)));
    });
    servers.push(s);
    return s.url;
  }

  test('spoofed headers from an untrusted peer are ignored; from a trusted peer honoured', async () => {
    const headers = { 'x-forwarded-for': '198.51.100.4', 'x-forwarded-host': 'app.example', 'x-forwarded-proto': 'https' };
    const untrustedUrl = await serve(compileTrustedProxies(['10.0.0.0/8']));
    const untrusted = await request(untrustedUrl, { headers });
    assert.deepEqual(await untrusted.body.json(), { address: '127.0.0.1', proto: 'http', host: new URL(untrustedUrl).host, forwardedFor: ['127.0.0.1'] });
    const trusted = await request(await serve(compileTrustedProxies(['127.0.0.0/8', '::1'])), { headers });
    assert.deepEqual(await trusted.body.json(), { address: '198.51.100.4', proto: 'https', host: 'app.example', forwardedFor: ['198.51.100.4', '127.0.0.1'] });
  });
});
