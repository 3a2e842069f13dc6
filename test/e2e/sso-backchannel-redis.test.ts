// Back-channel logout shared through a real Redis: the logout token reaches one gateway, every gateway (also one started later) refuses the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startRedis } from '../harness/redis.js';
import { browse, CookieJar, send, startSsoEnv, WEB_CLIENT_ID } from '../harness/sso.js';

const JSON_ACCEPT = { accept: 'application/json' };

test('a session ended at the provider is refused by every gateway sharing the Redis revocations', async () => {
  const redis = await startRedis();
  const env = await startSsoEnv({ backchannel: true, login: { redis: { url: redis.url } } });
  const others: TestGateway[] = [];
  // A second replica: the same config (keys, provider, Redis), another port.
  const replica = async (): Promise<TestGateway> => {
    const { listen: _listen, admin: _admin, audit: _audit, ...config } = JSON.parse(readFileSync(env.gw.configFile, 'utf8')) as Record<string, unknown>;
    const gw = await startGateway(config);
    others.push(gw);
    return gw;
  };
  try {
    const b = await replica();
    const jar = new CookieJar();
    const nav = await browse(jar, `${env.origin}/app/home`);
    assert.equal(nav.response.status, 200);
    await nav.response.arrayBuffer();
    const cookie = jar.header(env.origin)!;
    const atB = await fetch(`${b.url}/app/data`, { headers: { cookie, ...JSON_ACCEPT } });
    assert.equal(atB.status, 200, 'the replica opens the session (same keys)');
    await atB.arrayBuffer();

    const out = await browse(jar, `${env.op.issuer}/session/end?client_id=${WEB_CLIENT_ID}`);
    await out.response.arrayBuffer();
    const deadline = Date.now() + 2000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      const r = await fetch(`${b.url}/app/data`, { headers: { cookie, ...JSON_ACCEPT } });
      status = r.status;
      if (status !== 200) assert.equal(((await r.json()) as { code: string }).code, 'session_revoked');
      else await r.arrayBuffer();
    }
    assert.equal(status, 401, 'the replica that never got the logout token refuses the session');
    const a = await send(jar, `${env.origin}/app/data`, { headers: JSON_ACCEPT });
    assert.equal(a.status, 401);
    await a.arrayBuffer();
    // A replica started after the logout loads it from Redis.
    const c = await replica();
    const atC = await fetch(`${c.url}/app/data`, { headers: { cookie, ...JSON_ACCEPT } });
    assert.equal(atC.status, 401);
    assert.equal(((await atC.json()) as { code: string }).code, 'session_revoked');
  } finally {
    for (const gw of others) await gw.stop();
    await env.stop();
    await redis.stop();
  }
});
