// `login.redis.store`: sessions kept in Redis (sealed), the cookie a handle only. Real Redis (REDIS_URL).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { browse, CookieJar, MANY_GROUPS, send, startSsoEnv } from '../harness/sso.js';
import { REDIS_URL, redisAvailable } from '../limits/redis-env.js';

let run = false;
before(async () => { run = await redisAvailable(); });

test('a 200-group user\'s session is one small cookie holding a handle; Redis holds only ciphertext; logout deletes it everywhere', async (t) => {
  if (!run) return t.skip('no Redis');
  const prefix = `gh-test-${process.pid}-${Date.now()}:`;
  const env = await startSsoEnv({ login: { redis: { url: REDIS_URL, prefix, store: true } } });
  const redis = new Redis(REDIS_URL);
  try {
    const jar = new CookieJar();
    const nav = await browse(jar, `${env.origin}/app/board`, 'many');
    assert.equal(nav.response.status, 200);
    const echoed = (await nav.response.json()) as { headers: Record<string, string> };
    assert.equal(echoed.headers['x-gatehouse-groups']?.split(',').length, MANY_GROUPS.length, 'every group is kept: size is no longer a concern');
    assert.deepEqual(jar.names(env.origin).filter((n) => n.startsWith('__Host-gh_session.')), ['__Host-gh_session.0']);
    const header = jar.header(env.origin)!;
    assert.ok(header.length < 200, `cookie header ${header.length} B`);
    const keys = await redis.keys(`${prefix}session:idp:*`);
    assert.equal(keys.length, 1, 'one stored session');
    const stored = (await redis.get(keys[0]!))!;
    assert.equal(stored.split('.').length, 5, 'a compact JWE');
    assert.equal(stored.includes('many@example.test') || stored.includes(MANY_GROUPS[0]!), false, 'no claim in clear text');

    await redis.set(`${keys[0]!}-copy`, 'x'); // noise that must not matter
    const out = await send(jar, `${env.origin}/.gatehouse/logout`);
    assert.equal(out.status, 302);
    assert.equal(await redis.exists(keys[0]!), 0, 'logout removed the session from the store');
    // The old cookie, replayed from anywhere, no longer opens a session.
    const replay = await fetch(`${env.origin}/app/board`, { headers: { cookie: header, accept: 'application/json' } });
    assert.equal(replay.status, 401);
    assert.equal(((await replay.json()) as { code: string }).code, 'session_invalid');
  } finally {
    for (const k of await redis.keys(`${prefix}*`)) await redis.del(k);
    redis.disconnect();
    await env.stop();
  }
});

test('a session store that cannot be reached fails closed: sign-in and session checks answer 503, nobody gets in', async (t) => {
  if (!run) return t.skip('no Redis');
  const env = await startSsoEnv({ login: { redis: { url: 'redis://127.0.0.1:1', store: true } } });
  try {
    const nav = await browse(new CookieJar(), `${env.origin}/app/board`, 'alice');
    assert.equal(nav.response.status, 503);
    assert.equal(env.upstream.seen.length, 0, 'the upstream saw nothing');
    const forged = await fetch(`${env.origin}/app/board`, { headers: { cookie: `__Host-gh_session.0=r.${'A'.repeat(43)}`, accept: 'application/json' } });
    assert.equal(forged.status, 503);
    assert.equal(((await forged.json()) as { code: string }).code, 'session_store_unavailable');
  } finally {
    await env.stop();
  }
});
