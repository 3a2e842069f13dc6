// Several targets per HTTP upstream: balancing, retries only when safe, health checks, ejection, circuits.
// Every target is a real node:http server started here; assertions count statuses and requests, never time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { rawRequest } from '../harness/http.js';
import { refusingUrl } from '../harness/upstream.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A target: counts app requests (and their bodies) and health checks; its handler can change. */
interface Replica {
  readonly url: string;
  readonly bodies: string[];
  hits: number;
  checks: number;
  healthy: boolean;
  handler: Handler;
  kill(): Promise<void>;
}

const ok: Handler = (_req, res) => res.end('ok');

async function replica(handler: Handler = ok): Promise<Replica> {
  const r: Replica = {
    url: '', bodies: [], hits: 0, checks: 0, healthy: true, handler,
    kill: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      r.checks++;
      res.writeHead(r.healthy ? 200 : 503).end();
      return;
    }
    r.hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (body !== '') r.bodies.push(body);
      r.handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (r as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return r;
}

function gateway(upstream: Record<string, unknown>): Promise<TestGateway> {
  return startGateway({ routes: [{ name: 'app', match: { path: '/*' }, public: true, upstream }] });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `total` GETs from `workers` concurrent clients; `during(done)` runs after each answer. Returns the statuses. */
async function load(gw: TestGateway, total: number, workers: number, during: (done: number) => void = () => {}): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < total) {
      next++;
      statuses.push((await rawRequest(gw.url, 'GET', '/load')).status);
      during(statuses.length);
    }
  }));
  return statuses;
}

const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
const count = (xs: readonly number[], x: number): number => xs.filter((v) => v === x).length;

test('round-robin spreads requests evenly; the audit line and the metrics name the target', async () => {
  const rs = await Promise.all([replica(), replica(), replica()]);
  const gw = await gateway({ url: rs[0]!.url, targets: rs.map((r) => r.url) });
  try {
    for (let i = 0; i < 30; i++) assert.equal((await rawRequest(gw.url, 'GET', `/rr/${i}`)).status, 200);
    assert.deepEqual(rs.map((r) => r.hits), [10, 10, 10]);
    const lines = await gw.audit(30);
    assert.equal(lines.length, 30);
    for (const r of rs) assert.equal(lines.filter((l) => l.upstream_target === r.url && l.upstream_retries === 0).length, 10);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    for (const r of rs) assert.match(metrics, new RegExp(`gatehouse_upstream_target_requests_total\\{route="app",target="${r.url}",status="200"\\} 10`));
  } finally {
    await gw.stop();
    await Promise.all(rs.map((r) => r.kill()));
  }
});

test('least-request sends to the idle target while the other holds a request', async () => {
  const held: ServerResponse[] = [];
  const busy = await replica((_req, res) => held.push(res));
  const idle = await replica();
  const gw = await gateway({ url: busy.url, targets: [busy.url, idle.url], balance: 'least-request' });
  try {
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      const [idleBefore, busyBefore] = [idle.hits, busy.hits];
      const p = rawRequest(gw.url, 'GET', `/lr/${i}`);
      pending.push(p);
      await until(() => idle.hits > idleBefore || busy.hits > busyBefore, 'the request to reach a target');
      // One at a time: the next request is sent once this one is answered (idle) or held (busy).
      if (idle.hits > idleBefore) await p;
    }
    // Ties alternate, so the busy target got exactly one request and then nothing while it held it.
    assert.equal(busy.hits, 1);
    assert.equal(idle.hits, 9);
    for (const res of held) res.end('late');
    await Promise.all(pending);
  } finally {
    await gw.stop();
    await Promise.all([busy.kill(), idle.kill()]);
  }
});

test('a target killed under steady load: no idempotent request fails while another target is healthy', async () => {
  const [a, b] = await Promise.all([replica(), replica()]);
  const gw = await gateway({ url: a.url, targets: [a.url, b.url] });
  try {
    let killed: Promise<void> | undefined;
    const statuses = await load(gw, 300, 8, (done) => { if (done === 60) killed = a.kill(); });
    await killed;
    assert.equal(count(statuses, 200), 300, `statuses: ${JSON.stringify(statuses.filter((s) => s !== 200))}`);
    assert.ok(a.hits >= 25 && b.hits >= 150, `a ${a.hits}, b ${b.hits}`);
    const retried = (await gw.audit(300)).filter((l) => (l.upstream_retries as number) > 0);
    assert.ok(retried.length > 0, 'some requests were retried on the other target');
    assert.ok(retried.every((l) => l.upstream_target === b.url && l.status === 200));
  } finally {
    await gw.stop();
    await b.kill();
  }
});

test('a slow target gets less traffic under least-request', async () => {
  const slow = await replica((_req, res) => setTimeout(() => res.end('slow'), 150));
  const fast = await replica();
  const gw = await gateway({ url: slow.url, targets: [slow.url, fast.url], balance: 'least-request' });
  try {
    const statuses = await load(gw, 120, 6);
    assert.equal(count(statuses, 200), 120);
    assert.ok(fast.hits > 4 * slow.hits, `slow ${slow.hits}, fast ${fast.hits}`);
  } finally {
    await gw.stop();
    await Promise.all([slow.kill(), fast.kill()]);
  }
});

test('a POST whose body reached a target that then died is not retried: the other target never sees it twice', async () => {
  const dying = await replica((req) => req.socket.destroy());
  const other = await replica((_req, res, body) => res.end(`got ${body}`));
  const gw = await gateway({ url: dying.url, targets: [dying.url, other.url] });
  try {
    const answers = [];
    for (const body of ['one', 'two', 'three', 'four']) answers.push({ body, status: (await rawRequest(gw.url, 'POST', '/orders', { 'content-type': 'text/plain' }, body)).status });
    const failed = answers.filter((a) => a.status === 502).map((a) => a.body);
    assert.equal(failed.length, 2, JSON.stringify(answers));
    assert.equal(count(answers.map((a) => a.status), 200), 2);
    assert.deepEqual([...dying.bodies].sort(), [...failed].sort());
    for (const body of failed) assert.ok(!other.bodies.includes(body), `${body} was sent twice`);
    assert.equal(other.bodies.length, 2);
    const lines = (await gw.audit(4)).filter((l) => l.status === 502);
    assert.ok(lines.every((l) => l.upstream_target === dying.url && l.upstream_retries === 0 && l.error === 'upstream_error'));
  } finally {
    await gw.stop();
    await Promise.all([dying.kill(), other.kill()]);
  }
});

test('a POST refused at connect (no byte sent) is retried on another target, once per body', async () => {
  const dead = refusingUrl();
  const live = await replica((_req, res, body) => res.end(`got ${body}`));
  const gw = await gateway({ url: dead, targets: [dead, live.url] });
  try {
    for (const body of ['a', 'b', 'c', 'd']) {
      const res = await rawRequest(gw.url, 'POST', '/orders', { 'content-type': 'text/plain' }, body);
      assert.equal(res.status, 200);
      assert.equal(res.body, `got ${body}`);
    }
    assert.deepEqual(live.bodies, ['a', 'b', 'c', 'd']);
    const retried = (await gw.audit(4)).filter((l) => l.upstream_retries === 1);
    assert.ok(retried.length >= 1 && retried.every((l) => l.upstream_target === live.url));
  } finally {
    await gw.stop();
    await live.kill();
  }
});

test('an active health check takes a target out of rotation and brings it back', async () => {
  const [a, b] = await Promise.all([replica(), replica()]);
  const gw = await gateway({ url: a.url, targets: [a.url, b.url], healthCheck: { path: '/healthz', interval: '20ms', timeout: '1s', healthyThreshold: 2, unhealthyThreshold: 2 } });
  try {
    a.healthy = false;
    // The third check after the change starts only once the second's verdict was taken.
    let from = a.checks;
    await until(() => a.checks >= from + 3, 'failed checks');
    for (let i = 0; i < 10; i++) assert.equal((await rawRequest(gw.url, 'GET', '/hc')).status, 200);
    assert.equal(a.hits, 0);
    assert.equal(b.hits, 10);
    a.healthy = true;
    from = a.checks;
    await until(() => a.checks >= from + 3, 'passed checks');
    for (let i = 0; i < 10; i++) assert.equal((await rawRequest(gw.url, 'GET', '/hc')).status, 200);
    assert.equal(a.hits, 5);
    assert.equal(b.hits, 15);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`gatehouse_upstream_target_events_total\\{target="${a.url}",event="health_down"\\} 1`));
    assert.match(metrics, new RegExp(`gatehouse_upstream_target_events_total\\{target="${a.url}",event="health_up"\\} 1`));
  } finally {
    await gw.stop();
    await Promise.all([a.kill(), b.kill()]);
  }
});

test('a circuit opens after failures, lets one probe through after the cool-down, and closes on its success', async () => {
  const a = await replica((_req, res) => res.writeHead(500).end('broken'));
  const gw = await gateway({ url: a.url, targets: [a.url], circuitBreaker: { failures: 3, window: '1m', cooldown: '1s' } });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await rawRequest(gw.url, 'GET', '/cb')).status, 500);
    const open = await rawRequest(gw.url, 'GET', '/cb');
    assert.equal(open.status, 503);
    assert.equal(open.json().code, 'upstream_unavailable');
    assert.equal(a.hits, 3);
    // After the cool-down one probe goes through; it fails, so the circuit opens again.
    let res = open;
    while (res.status === 503) res = await pause().then(() => rawRequest(gw.url, 'GET', '/cb'));
    assert.equal(res.status, 500);
    assert.equal(a.hits, 4);
    assert.equal((await rawRequest(gw.url, 'GET', '/cb')).status, 503);
    a.handler = ok;
    while (res.status !== 200) {
      res = await pause().then(() => rawRequest(gw.url, 'GET', '/cb'));
      assert.ok(res.status === 503 || res.status === 200);
    }
    assert.equal(a.hits, 5);
    for (let i = 0; i < 5; i++) assert.equal((await rawRequest(gw.url, 'GET', '/cb')).status, 200);
    assert.equal(a.hits, 10);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`gatehouse_upstream_target_events_total\\{target="${a.url}",event="circuit_open"\\} 2`));
    assert.match(metrics, new RegExp(`gatehouse_upstream_target_events_total\\{target="${a.url}",event="circuit_closed"\\} 1`));
  } finally {
    await gw.stop();
    await a.kill();
  }
});

test('every target down: 502 while they are tried, then 503 upstream_unavailable once every circuit is open', async () => {
  const [a, b] = [refusingUrl(0), refusingUrl(1)];
  const gw = await gateway({ url: a, targets: [a, b], circuitBreaker: { failures: 3, window: '1m', cooldown: '1m' } });
  try {
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await rawRequest(gw.url, 'GET', '/down'));
    const statuses = answers.map((r) => r.status);
    const first503 = statuses.indexOf(503);
    assert.ok(first503 > 0, JSON.stringify(statuses));
    assert.ok(statuses.slice(0, first503).every((s) => s === 502) && statuses.slice(first503).every((s) => s === 503), JSON.stringify(statuses));
    assert.equal(answers[first503]!.json().code, 'upstream_unavailable');
    const line = await gw.auditLine((l) => l.error === 'upstream_unavailable');
    assert.equal(line?.status, 503);
  } finally {
    await gw.stop();
  }
});

test('outlier ejection takes a target answering 5xx out of rotation, but never more than the allowed share', async () => {
  const broken: Handler = (_req, res) => res.writeHead(503).end('sick');
  const [a, b, c, d] = await Promise.all([replica(broken), replica(), replica(broken), replica(broken)]);
  // The breaker is left out of it (it would open too): only ejection decides here.
  const breaker = { failures: 1000, window: '1m', cooldown: '1m' };
  const gw = await gateway({ url: a.url, targets: [a.url, b.url], outlierDetection: { consecutiveFailures: 3, ejection: '1m' }, circuitBreaker: breaker });
  try {
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await rawRequest(gw.url, 'GET', '/ej')).status);
    // A 5xx answer is relayed (never retried); after three in a row the target is ejected.
    assert.deepEqual([a.hits, b.hits], [3, 17]);
    assert.deepEqual([count(statuses, 503), count(statuses, 200)], [3, 17]);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`gatehouse_upstream_target_events_total\\{target="${a.url}",event="ejected"\\} 1`));
    assert.doesNotMatch(metrics, new RegExp(`target="${b.url}",event="ejected"`));
  } finally {
    await gw.stop();
  }
  // Three of four broken, at most half ejected: two stay in rotation and keep answering (their own 503s).
  const all = await gateway({ url: a.url, targets: [a.url, b.url, c.url, d.url], outlierDetection: { consecutiveFailures: 2, ejection: '1m' }, circuitBreaker: breaker });
  try {
    const before = [a.hits, c.hits, d.hits];
    for (let i = 0; i < 40; i++) await rawRequest(all.url, 'GET', '/ej');
    const sick = [a.hits - before[0]!, c.hits - before[1]!, d.hits - before[2]!];
    assert.equal(sick.filter((n) => n === 2).length, 2, `two broken targets ejected after two failures each: ${JSON.stringify(sick)}`);
    assert.equal(sick.filter((n) => n > 2).length, 1, `the third broken target stays in rotation: ${JSON.stringify(sick)}`);
    assert.equal(a.hits - before[0]! + c.hits - before[1]! + d.hits - before[2]! + b.hits - 17, 40);
  } finally {
    await all.stop();
    await Promise.all([a, b, c, d].map((r) => r.kill()));
  }
});

test('an idempotent PUT whose streamed body reached a dying target is not retried either: the body was consumed', async () => {
  const dying = await replica((req) => req.socket.destroy());
  const other = await replica((_req, res, body) => res.end(`got ${body}`));
  const gw = await gateway({ url: dying.url, targets: [dying.url, other.url] });
  try {
    const statuses = [];
    for (const body of ['p1', 'p2']) statuses.push((await rawRequest(gw.url, 'PUT', '/doc', { 'content-type': 'text/plain' }, body)).status);
    assert.deepEqual(statuses, [502, 200]);
    assert.deepEqual(dying.bodies, ['p1']);
    assert.deepEqual(other.bodies, ['p2']);
    // A bodiless GET to the same dying target is retried: nothing to replay.
    const get = await rawRequest(gw.url, 'GET', '/doc');
    assert.equal(get.status, 200);
    assert.equal(dying.hits, 2);
  } finally {
    await gw.stop();
    await Promise.all([dying.kill(), other.kill()]);
  }
});
