import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAuditLine, startAuditSink } from '../../src/audit/sink.js';
import { startMetrics } from '../../src/observe/metrics.js';
import { requestEnd, type RequestRecord } from '../../src/observe/events.js';
import { makeIdentity } from '../../src/identity/identity.js';

const identity = makeIdentity({ provider: 'entra', issuer: 'https://login.example/v2.0', subject: 'oid-1', tenant: 't1', authMethod: 'jwt', roles: [], groups: [], scopes: [], claims: {} });

function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    time: Date.UTC(2026, 10, 21, 10, 0, 0, 5), requestId: 'r1', traceparent: '00-aa-bb-01', method: 'GET', path: '/x', query: '', host: 'api.example',
    clientAddress: '203.0.113.9', authn: { result: 'ok', provider: 'entra' }, status: 200, bytesIn: 0, bytesOut: 12, durationMs: 1.23456,
    route: 'api', identity, decision: { allow: true, rule: 'readers', reason: 'allowed' }, upstreamMs: 0.5, upstream: 'http://10.0.0.5',
    ...overrides,
  };
}

test('an audit line is one JSON object with the envelope first and the fields in their stable order', () => {
  const line = formatAuditLine(record());
  assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'));
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), [
    'level', 'time', 'type', 'request_id', 'traceparent', 'route', 'method', 'path', 'query', 'host', 'client_address', 'identity', 'authn',
    'decision', 'limit', 'upstream', 'credentials', 'upstream_path', 'upstream_status', 'status', 'error', 'error_detail', 'bytes_in', 'bytes_out', 'duration_ms', 'upstream_ms',
  ]);
  assert.equal(parsed.time, '2026-11-21T10:00:00.005Z');
  assert.equal(parsed.type, 'audit');
  assert.equal(parsed.duration_ms, 1.235);
  // Absent identity fields are omitted, present ones keep their order.
  assert.deepEqual(Object.keys(parsed.identity as object), ['provider', 'issuer', 'subject', 'tenant', 'auth_method']);
  assert.equal(parsed.limit, null);
  assert.equal(parsed.error, null);
});

test('hostile strings in a request cannot break out of the audit line', () => {
  const evil = '/a"},"status":1}\n{"forged":true\u2028\u0000';
  const line = formatAuditLine(record({ path: evil, host: 'h"\n', route: undefined, identity: undefined, upstreamMs: undefined, time: 0 }));
  assert.equal(line.split('\n').length, 2, 'exactly one line');
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.equal(parsed.path, evil);
  assert.equal(parsed.status, 200);
  assert.equal(parsed.route, null);
  assert.equal(parsed.identity, null);
  assert.equal(parsed.upstream_ms, null);
  assert.equal(parsed.time, '1970-01-01T00:00:00.000Z');
});

test('the file sink writes every published request as a line, flushed on close', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gatehouse-audit-')), 'audit.log');
  const sink = startAuditSink({ sink: 'file', path });
  for (let i = 0; i < 500; i++) requestEnd.publish(record({ requestId: `r${i}` }));
  await sink.close();
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { request_id: string });
  assert.deepEqual(lines.map((l) => l.request_id), Array.from({ length: 500 }, (_, i) => `r${i}`));
});

test('metrics: request counter, duration histogram and limit counter in Prometheus text', async () => {
  const metrics = startMetrics();
  try {
    for (let i = 0; i < 3; i++) requestEnd.publish(record({ durationMs: 3 }));
    requestEnd.publish(record({ status: 401, error: 'token_expired', durationMs: 20_000, identity: undefined }));
    requestEnd.publish(record({ route: undefined, status: 404, error: 'route_not_found', durationMs: 0.2 }));
    requestEnd.publish(record({ status: 429, error: 'rate_limited', limit: { result: 'rate_limited', name: 'per-sub' } }));
    const text = await metrics.registry.metrics();
    assert.match(text, /^gatehouse_requests_total\{route="api",status="200",code="ok"\} 3$/m);
    assert.match(text, /^gatehouse_requests_total\{route="api",status="401",code="token_expired"\} 1$/m);
    assert.match(text, /^gatehouse_requests_total\{route="-",status="404",code="route_not_found"\} 1$/m);
    assert.match(text, /^# TYPE gatehouse_request_duration_seconds histogram$/m);
    // 3 ms lands in le=0.005; buckets are cumulative; 20 s only in +Inf.
    assert.match(text, /^gatehouse_request_duration_seconds_bucket\{le="0.0025",route="api"\} 1$/m);
    assert.match(text, /^gatehouse_request_duration_seconds_bucket\{le="0.005",route="api"\} 4$/m);
    assert.match(text, /^gatehouse_request_duration_seconds_bucket\{le="10",route="api"\} 4$/m);
    assert.match(text, /^gatehouse_request_duration_seconds_bucket\{le="\+Inf",route="api"\} 5$/m);
    assert.match(text, /^gatehouse_request_duration_seconds_count\{route="api"\} 5$/m);
    assert.match(text, /^gatehouse_limit_decisions_total\{route="api",limit="per-sub",result="rate_limited",fallback="false"\} 1$/m);
    // A scrape does not double-count: the second rendering shows the same totals.
    assert.match(await metrics.registry.metrics(), /^gatehouse_requests_total\{route="api",status="200",code="ok"\} 3$/m);
  } finally {
    metrics.close();
  }
});

test('lines with multi-byte characters and lines longer than a batch arrive whole and in order', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gatehouse-audit-')), 'audit.log');
  const sink = startAuditSink({ sink: 'file', path });
  const paths = Array.from({ length: 300 }, (_, i) => (i % 50 === 7 ? `/long/${'é😀'.repeat(4000)}` : `/p/${i}/é😀`));
  paths.forEach((p, i) => requestEnd.publish(record({ requestId: `m${i}`, path: p })));
  await sink.close();
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { request_id: string; path: string });
  assert.deepEqual(lines.map((l) => l.request_id), paths.map((_, i) => `m${i}`));
  assert.deepEqual(lines.map((l) => l.path), paths);
});

test('an upstream with several targets: the line names the target and the retries; metrics count per target', async () => {
  const parsed = JSON.parse(formatAuditLine(record({ upstreamTarget: 'http://10.0.0.6:8080', upstreamRetries: 1 }))) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed).slice(-3), ['upstream_ms', 'upstream_target', 'upstream_retries']);
  assert.equal(parsed.upstream_target, 'http://10.0.0.6:8080');
  assert.equal(parsed.upstream_retries, 1);
  const none = JSON.parse(formatAuditLine(record({ upstreamRetries: 0, status: 503, error: 'upstream_unavailable' }))) as Record<string, unknown>;
  assert.equal(none.upstream_target, null);
  const metrics = startMetrics();
  try {
    requestEnd.publish(record({ route: 'multi', upstreamTarget: 'http://10.0.0.6:8080', upstreamRetries: 1 }));
    requestEnd.publish(record({ route: 'multi', upstreamTarget: 'http://10.0.0.6:8080', upstreamRetries: 0 }));
    requestEnd.publish(record({ route: 'multi', upstreamRetries: 0, status: 503, error: 'upstream_unavailable' }));
    requestEnd.publish(record({ route: 'single' }));
    const text = await metrics.registry.metrics();
    assert.match(text, /^gatehouse_upstream_target_requests_total\{route="multi",target="http:\/\/10.0.0.6:8080",status="200"\} 2$/m);
    assert.match(text, /^gatehouse_upstream_target_requests_total\{route="multi",target="-",status="503"\} 1$/m);
    assert.match(text, /^gatehouse_upstream_retries_total\{route="multi"\} 1$/m);
    assert.doesNotMatch(text, /route="single",target=/);
  } finally {
    metrics.close();
  }
});
