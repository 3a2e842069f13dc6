// `login.groups`: a user in 200 groups keeps only the groups policies use, so the session stays one small cookie.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browse, CookieJar, MANY_GROUPS, startSsoEnv } from '../harness/sso.js';

test('only the listed groups are kept, and policies on them still decide', async () => {
  const kept = MANY_GROUPS[17]!;
  const env = await startSsoEnv({
    login: { groups: [kept, 'staff'] },
    routes: (upstream) => [
      { name: 'team', match: { path: '/team/*' }, authenticate: ['session:idp'], allow: [{ groups: [kept] }], upstream: { url: upstream } },
    ],
  });
  try {
    const jar = new CookieJar();
    const nav = await browse(jar, `${env.origin}/team/board`, 'many');
    assert.equal(nav.response.status, 200);
    const echoed = (await nav.response.json()) as { headers: Record<string, string> };
    assert.equal(echoed.headers['x-gatehouse-groups'], kept);
    const chunks = jar.names(env.origin).filter((n) => n.startsWith('__Host-gh_session.'));
    assert.deepEqual(chunks, ['__Host-gh_session.0']);
    assert.ok(jar.header(env.origin)!.length < 1500, `cookie header ${jar.header(env.origin)!.length} B`);
  } finally {
    await env.stop();
  }
});
