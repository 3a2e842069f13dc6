// The gRPC helpers the gateway's gRPC pass-through rests on: what is a gRPC call, grpc-timeout both
// ways, grpc-message's percent-encoding and the status a refusal becomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGrpcTimeout, grpcMessage, grpcStatusOf, grpcTimeoutMs, isGrpc } from '../../src/pipeline/grpc.js';

test('gRPC calls are application/grpc and application/grpc+codec, not gRPC-Web or look-alikes', () => {
  for (const t of ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc;charset=utf-8']) assert.equal(isGrpc({ 'content-type': t }), true, t);
  for (const t of [undefined, 'application/grpc-web', 'application/grpc-web+proto', 'application/grpcx', 'application/json']) assert.equal(isGrpc({ 'content-type': t }), false, String(t));
});

test('grpc-timeout: 1 to 8 digits and a unit; anything else is invalid', () => {
  assert.equal(grpcTimeoutMs(undefined), undefined);
  assert.equal(grpcTimeoutMs('2H'), 7_200_000);
  assert.equal(grpcTimeoutMs('3M'), 180_000);
  assert.equal(grpcTimeoutMs('1S'), 1000);
  assert.equal(grpcTimeoutMs('250m'), 250);
  assert.equal(grpcTimeoutMs('1500u'), 1.5);
  assert.equal(grpcTimeoutMs('99999999n'), 99.999999);
  for (const bad of ['', 'S', '1', '123456789S', '1s', '1 S', ' 1S', '-1S', '1.5S', '1SS', '１S']) assert.equal(grpcTimeoutMs(bad), 'invalid', bad);
  assert.equal(grpcTimeoutMs(['1S', '2S']), 'invalid');
});

test('what is left of a deadline is written in a unit that keeps 8 digits and never rounds it to zero', () => {
  for (const ms of [0.0001, 0.5, 1, 999, 99_999, 100_000, 3_600_000, 1e12]) {
    const text = formatGrpcTimeout(ms);
    const back = grpcTimeoutMs(text);
    assert.equal(typeof back, 'number', text);
    assert.ok((back as number) >= Math.min(ms, 99_999_999_000) && (back as number) > 0, `${ms} → ${text}`);
  }
});

test('grpc-message keeps visible ASCII but % and percent-encodes every other byte', () => {
  assert.equal(grpcMessage('token_missing: No credential'), 'token_missing: No credential');
  assert.equal(grpcMessage('100% é\n'), '100%25 %C3%A9%0A');
});

test('refusals map to the gRPC statuses clients act on', () => {
  assert.equal(grpcStatusOf('token_missing'), 16);
  assert.equal(grpcStatusOf('signature_invalid'), 16);
  assert.equal(grpcStatusOf('no_rule_matched'), 7);
  assert.equal(grpcStatusOf('rate_limited'), 8);
  assert.equal(grpcStatusOf('body_too_large'), 8);
  assert.equal(grpcStatusOf('route_not_found'), 12);
  assert.equal(grpcStatusOf('upstream_unreachable'), 14);
  assert.equal(grpcStatusOf('upstream_timeout'), 14);
  assert.equal(grpcStatusOf('grpc_deadline_exceeded'), 4);
  assert.equal(grpcStatusOf('grpc_timeout_invalid'), 3);
  assert.equal(grpcStatusOf('internal_error'), 13);
});
