// The pipeline's own contract: the fold keeps stage order, stops at the first refusal, answers
// synchronously until a stage must wait, and every stage's end is published for subscribers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { compose, PIPELINE, type Stage } from '../../src/pipeline/stage.js';
import { RequestContext } from '../../src/pipeline/context.js';
import { routeRequest } from '../../src/routing/stage.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startUpstream, type TestUpstream } from '../harness/upstream.js';
import { rawRequest } from '../harness/http.js';

const ctx = {} as RequestContext;
const stage = (name: Stage['name'], run: Stage['run']): Stage => ({ name, run });

describe('compose', () => {
  it('runs stages in order, synchronously while they answer synchronously', () => {
    const seen: string[] = [];
    const run = compose([stage('authenticate', () => { seen.push('a'); return undefined; }), stage('authorize', () => { seen.push('b'); return undefined; })]);
    const result = run(ctx);
    assert.equal(result, undefined, 'a value, not a promise');
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('waits for a stage that returns a promise, then goes on; the first refusal ends the run', async () => {
    const seen: string[] = [];
    const run = compose([
      stage('authenticate', () => { seen.push('a'); return Promise.resolve(undefined); }),
      stage('authorize', () => { seen.push('b'); return { code: 'no_rule_matched' }; }),
      stage('upstream', () => { seen.push('never'); return undefined; }),
    ]);
    const result = run(ctx);
    assert.ok(result instanceof Promise);
    assert.deepEqual(await result, { code: 'no_rule_matched' });
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('refuses a stage list out of pipeline order', () => {
    assert.throws(() => compose([stage('upstream', () => undefined), stage('authenticate', () => undefined)]), /out of pipeline order/);
  });

  it('PIPELINE is the documented order', () => {
    assert.deepEqual([...PIPELINE], ['route', 'authenticate', 'authorize', 'limit', 'outbound', 'upstream', 'respond']);
  });
});

describe('a real request through the compiled stages', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let token: string;
  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway({
      dev: true,
      routes: [{ name: 'orders', match: { path: '/orders/*' }, authenticate: ['dev'], concurrency: 5, upstream: { url: upstream.url, assertion: true } }],
    });
    token = await gw.gateway.ref.current.devIssuer!.sign({ sub: 'alice' });
  });
  after(async () => { await gw.stop(); await upstream.close(); });

  it('publishes the end of every stage, in pipeline order, then the upstream request and response', async () => {
    const events: string[] = [];
    const onStage = (m: unknown): void => { events.push(`stage:${(m as { stage: string }).stage}`); };
    const onRequest = (): void => { events.push('upstream:request'); };
    const onResponse = (m: unknown): void => { events.push(`upstream:response:${(m as { status: number }).status}`); };
    const onEnd = (): void => { events.push('request:end'); };
    subscribe('gatehouse:stage:end', onStage);
    subscribe('gatehouse:upstream:request', onRequest);
    subscribe('gatehouse:upstream:response', onResponse);
    subscribe('gatehouse:request:end', onEnd);
    try {
      assert.equal((await rawRequest(gw.url, 'GET', '/orders/1', { authorization: `Bearer ${token}` })).status, 200);
    } finally {
      unsubscribe('gatehouse:stage:end', onStage);
      unsubscribe('gatehouse:upstream:request', onRequest);
      unsubscribe('gatehouse:upstream:response', onResponse);
      unsubscribe('gatehouse:request:end', onEnd);
    }
    assert.deepEqual(events, [
      'stage:authenticate', 'stage:authorize', 'stage:limit', 'stage:outbound', 'stage:outbound',
      'upstream:request', 'upstream:response:200', 'stage:upstream', 'request:end',
    ]);
  });

  it('a cached token runs authenticate and authorize without a promise', async () => {
    assert.equal((await rawRequest(gw.url, 'GET', '/orders/warm', { authorization: `Bearer ${token}` })).status, 200);
    const route = gw.gateway.ref.current.routes[0]!;
    const deciding = compose(route.stages.filter((s) => s.name === 'authenticate' || s.name === 'authorize'));
    const exchange = { method: 'GET', url: '/orders/2', headers: { host: 'x', authorization: `Bearer ${token}` }, rawHeaders: ['host', 'x'], remoteAddress: '127.0.0.1', encrypted: false, tls: undefined };
    const c = new RequestContext(exchange as never, gw.gateway.ref.current.trusted);
    routeRequest(gw.gateway.ref.current.table, c);
    const result = deciding(c);
    assert.equal(result, undefined, 'decided synchronously');
    assert.equal(c.identity?.subject, 'alice');
  });
});
