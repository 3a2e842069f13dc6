// With `login.redis`, a session due for refresh is refreshed once across gateway replicas (rotating refresh tokens make a second refresh end it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway } from '../harness/gateway.js';
import { startRedis } from '../harness/redis.js';
import { browse, CookieJar, startSsoEnv } from '../harness/sso.js';

test('parallel requests at two replicas cause one refresh at the provider, and both answer with the new session', async () => {
  const redis = await startRedis();
  const env = await startSsoEnv({ op: { ttl: { AccessToken: 6, IdToken: 6 } }, login: { refreshBefore: '5s', redis: { url: redis.url } } });
  const { listen: _l, admin: _a, audit: _u, ...config } = JSON.parse(readFileSync(env.gw.configFile, 'utf8')) as Record<string, unknown>;
  const b = await startGateway(config);
  try {
    const jar = new CookieJar();
    const nav = await browse(jar, `${env.origin}/app/home`);
    assert.equal(nav.response.status, 200);
    await nav.response.arrayBuffer();
    const cookie = jar.header(env.origin)!;
    await sleep(1500);
    const before = env.op.refreshRequests;
    const urls = Array.from({ length: 12 }, (_, i) => `${i % 2 === 0 ? env.origin : b.url}/app/data`);
    const responses = await Promise.all(urls.map((u) => fetch(u, { headers: { cookie, accept: 'application/json' } })));
    for (const r of responses) {
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    assert.equal(env.op.refreshRequests - before, 1, 'one refresh for the whole fleet');
    const fresh = new Set(responses.map((r) => r.headers.getSetCookie().filter((l) => !l.includes('Max-Age=0')).map((l) => l.split(';')[0]).join('; ')));
    assert.equal(fresh.size, 1, 'every replica hands out the same refreshed session');
    assert.ok(![...fresh][0]!.startsWith('__Host-gh_session.0=;'));
  } finally {
    await b.stop();
    await env.stop();
    await redis.stop();
  }
});
