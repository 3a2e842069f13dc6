import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTarget, upstreamPath } from '../../src/upstream/http/target.js';
import { classifyFailure, TLS_CLOSED_UNANSWERED } from '../../src/upstream/http/failure.js';
import { Value } from '@sinclair/typebox/value';
import { HttpUpstreamSchema } from '../../src/upstream/http/schema.js';

/** An HTTP upstream config with the schema's defaults, as the loader builds it. */
const upstreamConfig = (url: string, overrides: Record<string, unknown> = {}) => Value.Default(HttpUpstreamSchema, { url, ...overrides }) as Parameters<typeof compileTarget>[0];

const target = (url: string, stripPrefix?: string) => compileTarget(upstreamConfig(url, stripPrefix ? { stripPrefix } : {}));

describe('upstreamPath', () => {
  test('basePath without trailing slash + path + query', () => {
    assert.equal(upstreamPath(target('http://u/'), '/a/b', ''), '/a/b');
    assert.equal(upstreamPath(target('http://u/v1/'), '/a', 'x=1'), '/v1/a?x=1');
    assert.equal(upstreamPath(target('http://u/v1'), '/', ''), '/v1/');
  });

  test('stripPrefix only on a segment boundary; an exact match leaves the base or /', () => {
    const t = target('http://u/v1', '/api/');
    assert.equal(upstreamPath(t, '/api/users', ''), '/v1/users');
    assert.equal(upstreamPath(t, '/api', 'q'), '/v1?q');
    assert.equal(upstreamPath(t, '/apiary', ''), '/v1/apiary');
    assert.equal(upstreamPath(target('http://u', '/api'), '/api', ''), '/');
  });

  test('durations are parsed once', () => {
    const t = compileTarget(upstreamConfig('http://u', { connectTimeout: '250ms', headersTimeout: '2s', bodyTimeout: '1m' }));
    assert.deepEqual([t.connectTimeoutMs, t.headersTimeoutMs, t.bodyTimeoutMs], [250, 2000, 60000]);
  });
});

describe('classifyFailure', () => {
  const err = (code: string) => Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:80'), { code });
  test('by code and phase, never by message; the detail never carries the message', () => {
    assert.equal(classifyFailure(err('ECONNREFUSED'), false).code, 'upstream_unreachable');
    assert.equal(classifyFailure(err('UND_ERR_CONNECT_TIMEOUT'), false).code, 'upstream_unreachable');
    assert.equal(classifyFailure(err('DEPTH_ZERO_SELF_SIGNED_CERT'), false).code, 'upstream_unreachable');
    assert.equal(classifyFailure(err('UND_ERR_HEADERS_TIMEOUT'), true).code, 'upstream_timeout');
    assert.equal(classifyFailure(err('UND_ERR_BODY_TIMEOUT'), true).code, 'upstream_error');
    assert.equal(classifyFailure(err('UND_ERR_SOCKET'), true).code, 'upstream_error');
    assert.equal(classifyFailure(err('ECONNRESET'), true).code, 'upstream_error');
    assert.equal(classifyFailure(err('UND_ERR_INVALID_ARG'), false).code, 'upstream_error');
    assert.doesNotMatch(classifyFailure(err('ECONNREFUSED'), false).internal ?? '', /10\.1\.2\.3/);
    // What the client may see carries no internal detail at all.
    assert.equal(classifyFailure(err('DEPTH_ZERO_SELF_SIGNED_CERT'), false).detail, undefined);
    assert.match(classifyFailure(new Error('no code'), true).internal ?? '', /unknown/);
  });

  test('a TLS handshake refused by the upstream is unreachable even after the request was written (TLS 1.3)', () => {
    for (const code of ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', TLS_CLOSED_UNANSWERED]) {
      const failure = classifyFailure(err(code), true);
      assert.equal(failure.code, 'upstream_unreachable', code);
      assert.match(failure.internal ?? '', new RegExp(`^TLS handshake with the upstream failed \\(${code}`));
      assert.equal(failure.detail, undefined);
    }
  });
});
