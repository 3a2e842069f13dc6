/**
 * A real browser (Debian's Chromium through playwright-core, never a downloaded one) signs in at the
 * in-process OpenID Provider's interactive login, uses the application, is refused a cross-site
 * POST and signs out. Screenshots go to test-artifacts/sso/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSsoEnv, type SsoEnv } from '../harness/sso.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts/sso';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI !== 'true') console.warn(`\n*** sso-browser: SKIPPED — ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`);

let env: SsoEnv;
let browser: Browser;
let evil: Server;
let evilOrigin: string;

before(async () => {
  if (!available) {
    if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install chromium`);
    return;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  env = await startSsoEnv();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  // Another origin whose page auto-submits a form to the gateway (a cross-site request forgery attempt).
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<form id="f" method="post" action="${env.origin}/app/transfer"><input name="amount" value="1000"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilOrigin = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
  await env?.stop();
});

const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });

/** Fill the provider's login and consent forms. */
async function signIn(page: Page, login: string): Promise<void> {
  await page.waitForSelector('input[name="login"]');
  await shot(page, '1-provider-login');
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  await page.waitForSelector('button[type="submit"]');
  await shot(page, '2-provider-consent');
  await page.click('button[type="submit"]');
}

test('a browser signs in, is returned to the deep link, uses the API by cookie, is refused a cross-site POST and signs out at the provider', { skip: !available && 'no Chromium' }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const seen = env.upstream.seen.length;

  await page.goto(`${env.origin}/app/reports/7?tab=q3`);
  assert.ok(page.url().startsWith(env.op.issuer), `at the provider: ${page.url()}`);
  await signIn(page, 'alice');
  await page.waitForURL(`${env.origin}/app/reports/7?tab=q3`);
  await shot(page, '3-deep-link-restored');
  const echoed = JSON.parse(await page.locator('body').innerText()) as { headers: Record<string, string> };
  assert.equal(echoed.headers['x-gatehouse-subject'], 'alice');
  assert.equal(echoed.headers['x-gatehouse-auth-method'], 'session');
  assert.equal(echoed.headers['x-gatehouse-roles'], 'reader,admin');
  assert.doesNotMatch(echoed.headers.cookie ?? '', /__Host-gh_/);

  const cookies = await context.cookies(env.origin);
  const session = cookies.find((c) => c.name === '__Host-gh_session.0');
  assert.ok(session, `session cookie kept by the browser (${cookies.map((c) => c.name).join(', ')})`);
  assert.equal(session.secure, true);
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');

  // The application's own scripts call the API with the cookie: same origin, so a POST passes.
  const api = await page.evaluate(async () => {
    const get = await fetch('/app/data', { headers: { accept: 'application/json' } });
    const post = await fetch('/app/items', { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: '{}' });
    return [get.status, post.status];
  });
  assert.deepEqual(api, [200, 200]);

  // A script without a session gets 401, not a redirect to the provider.
  const anonymous = await browser.newContext();
  const anonPage = await anonymous.newPage();
  await anonPage.goto(`${env.origin}/signed-out`);
  const anon = await anonPage.evaluate(async () => {
    const r = await fetch('/app/data', { headers: { accept: 'application/json' } });
    return { status: r.status, redirected: r.redirected, code: ((await r.json()) as { code: string }).code };
  });
  assert.deepEqual(anon, { status: 401, redirected: false, code: 'token_missing' });
  await anonymous.close();

  // Another origin's auto-submitted form: refused, never forwarded.
  const forgery = page.waitForResponse((r) => r.url() === `${env.origin}/app/transfer`);
  await page.goto(evilOrigin);
  const refused = await forgery;
  // Another port of the same host is same-site: SameSite=Lax still sends the cookie, the origin check refuses.
  assert.equal(refused.status(), 403);
  assert.match(await refused.text(), /csrf_origin_mismatch/, "the browser is shown the HTML error page");
  await shot(page, '4-cross-site-post-refused');
  assert.ok(!env.upstream.seen.slice(seen).some((r) => r.url === '/app/transfer'));

  // Logout: the gateway clears its cookies and sends the browser to end the session at the provider.
  await page.goto(`${env.origin}/.gatehouse/logout`);
  await page.waitForSelector('button[name="logout"]');
  await shot(page, '5-provider-logout');
  await page.click('button[name="logout"]');
  await page.waitForURL(`${env.origin}/signed-out`);
  assert.equal((await context.cookies(env.origin)).filter((c) => c.name.startsWith('__Host-gh_session')).length, 0);
  // Signed out at the provider too: the next visit shows its login form again.
  await page.goto(`${env.origin}/app/reports/7`);
  await page.waitForSelector('input[name="login"]');
  await shot(page, '6-signed-out-login-again');
  await context.close();
});
