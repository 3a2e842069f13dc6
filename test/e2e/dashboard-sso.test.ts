/**
 * The dashboard's SSO sign-in in a real browser (Debian's Chromium through playwright-core): a user
 * of the allowed group signs in at the in-process OpenID Provider's login page and sees the live
 * dashboard, a user outside it is refused, logout ends the session, a forged callback is refused,
 * and the public listener's SSO cookie does not open the dashboard. The admin origin is
 * `http://localhost:<port>` and the provider `http://127.0.0.1:<port>`: two sites, so the provider's
 * redirect back is a cross-site navigation, as in production. Screenshots: test-artifacts/dashboard/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDashboardSso, type DashboardSsoEnv } from '../harness/dashboard-sso.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const present = existsSync(CHROMIUM);
if (!present && process.env.CI !== 'true') console.warn(`\n*** dashboard SSO browser tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`);

let env: DashboardSsoEnv;
let browser: Browser;

before(async () => {
  if (!present) {
    if (process.env.CI === 'true') throw new Error(`Chromium is missing at ${CHROMIUM}: .ci/run installs it (ensure_chromium)`);
    return;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  env = await startDashboardSso({ ownClient: true, host: 'localhost', dashboard: { token: 'dashboard-test-token-0123456789' } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});
after(async () => {
  await browser?.close();
  await env?.stop();
});

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page };
}

async function shot(page: Page, name: string): Promise<void> {
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

/** Fill the provider's login and consent forms. */
async function signIn(page: Page, login: string, name?: string): Promise<void> {
  await page.waitForSelector('input[name="login"]');
  if (name !== undefined) await shot(page, name);
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  await page.waitForSelector('button[type="submit"]');
  await page.click('button[type="submit"]');
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function traffic(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${env.gw.url}/app/x`, { headers: { accept: 'application/json' } });
    await res.arrayBuffer();
  }
}

const dashboardCookie = async (context: BrowserContext) => (await context.cookies(`${env.admin}/dashboard`)).find((c) => c.name === 'gatehouse_dashboard');

test('a user of the allowed group signs in at the provider, sees the live dashboard, and logs out', { skip: !present }, async () => {
  const { context, page } = await newPage();
  await page.goto(`${env.admin}/dashboard`);
  assert.equal(new URL(page.url()).pathname, '/dashboard/login');
  await page.waitForSelector('#sso');
  assert.ok(await page.locator('#token').count() === 1, 'the token form is there too (both are configured)');
  await shot(page, 'sso-login');
  await page.click('#sso');
  await page.waitForURL((u) => u.href.startsWith(env.op.issuer));
  await signIn(page, 'alice', 'sso-provider-login');
  await page.waitForURL(`${env.admin}/dashboard`);
  await page.waitForSelector('#status.ok');
  await until('the signed-in user', async () => (await page.locator('#who').textContent()) === 'alice');

  const cookie = await dashboardCookie(context);
  assert.ok(cookie, 'the dashboard session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/dashboard');
  assert.ok(!(await context.cookies(`${env.admin}/dashboard/sso/callback`)).some((c) => c.name === 'gh_dashboard_login'), 'the pending sign-in cookie is gone');

  const total = async (): Promise<number> => Number(await page.locator('#total').textContent());
  const before = await total();
  await traffic(6);
  await until('the request counter', async () => await total() >= before + 6);
  await page.waitForSelector('#codes g[data-key="session_missing"], #codes g[data-key="token_missing"]');
  await shot(page, 'sso-overview');
  assert.ok(env.logs.some((l) => l.msg === 'dashboard sign-in' && l.subject === 'alice'));

  await page.click('#logout button');
  await page.waitForURL(`${env.admin}/dashboard/login`);
  assert.equal(await dashboardCookie(context), undefined, 'logout deletes the cookie');
  // The old session id no longer opens anything.
  const replay = await fetch(`${env.admin}/dashboard/api/stats`, { headers: { cookie: `gatehouse_dashboard=${cookie.value}` } });
  assert.equal(replay.status, 401);
  await page.goto(`${env.admin}/dashboard`);
  assert.equal(new URL(page.url()).pathname, '/dashboard/login');
  await context.close();
});

test('a signed-in user outside the allowed group gets a 403 page and no dashboard session', { skip: !present }, async () => {
  const { context, page } = await newPage();
  await page.goto(`${env.admin}/dashboard/login`);
  await page.click('#sso');
  await signIn(page, 'bob');
  await page.waitForURL((u) => u.pathname === '/dashboard/sso/callback');
  await page.waitForSelector('text=bob is signed in at idp but may not see this dashboard.');
  await shot(page, 'sso-refused');
  assert.equal(await dashboardCookie(context), undefined);
  const api = await page.request.get(`${env.admin}/dashboard/api/stats`);
  assert.equal(api.status(), 401);
  assert.ok(env.logs.some((l) => l.msg === 'dashboard sign-in refused' && l.subject === 'bob' && l.code === 'not_allowed'));
  await context.close();
});

test('a forged callback (a state this browser never started) is refused', { skip: !present }, async () => {
  const { context, page } = await newPage();
  const res = await page.goto(`${env.admin}/dashboard/sso/callback?code=forged-code&state=forged-state`);
  assert.equal(res?.status(), 400);
  await page.waitForSelector('text=This sign-in is unknown, expired or already used');
  assert.equal(await dashboardCookie(context), undefined);
  await context.close();
});

test('the public listener\'s SSO session cookie does not open the dashboard', { skip: !present }, async () => {
  const { context, page } = await newPage();
  await page.goto(`${env.origin}/app/reports`);
  await signIn(page, 'alice');
  await page.waitForURL(`${env.origin}/app/reports`);
  const publicCookies = (await context.cookies(env.origin)).filter((c) => c.name.startsWith('__Host-gh_session'));
  assert.ok(publicCookies.length > 0, 'signed in on the public listener');
  // The admin port on the public listener's host: the browser sends the public session cookie there too (cookies ignore ports).
  const adminSameHost = env.admin.replace('localhost', '127.0.0.1');
  await page.goto(`${adminSameHost}/dashboard`);
  assert.equal(new URL(page.url()).pathname, '/dashboard/login');
  assert.equal((await page.request.get(`${adminSameHost}/dashboard/api/stats`)).status(), 401);
  // Nor does its value under the dashboard's cookie name.
  const value = publicCookies[0]!.value;
  assert.equal((await fetch(`${env.admin}/dashboard/api/stats`, { headers: { cookie: `gatehouse_dashboard=${value}; __Host-gh_dashboard=${value}` } })).status, 401);
  await context.close();
});
