import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DASHBOARD_TOKEN, startDashboardGateway, traffic, type DashboardFixture } from '../harness/dashboard.js';

// The dashboard in a real browser (Debian's Chromium; playwright-core never downloads one).
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const present = existsSync(CHROMIUM);
if (!present && process.env.CI !== 'true') console.warn(`\n*** dashboard browser tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`);

let f: DashboardFixture;
let browser: Browser;
let page: Page;
/** What Chromium reports the page's Content-Security-Policy blocked (inline script or style, say). */
const cspViolations: string[] = [];

before(async () => {
  if (!present) {
    if (process.env.CI === 'true') throw new Error(`Chromium is missing at ${CHROMIUM}: .ci/run installs it (ensure_chromium)`);
    return;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  f = await startDashboardGateway();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text()); });
});
after(async () => {
  await browser?.close();
  await f?.stop();
});

async function shot(name: string): Promise<void> {
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

/** Poll the page until `probe` holds (a page-side predicate would be eval, which the page's CSP forbids). */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const number = async (selector: string): Promise<number> => Number(await page.locator(selector).textContent());

test('visiting /dashboard leads to the login page, which refuses a wrong token', { skip: !present }, async () => {
  await page.goto(`${f.gw.adminUrl}/dashboard`);
  assert.equal(new URL(page.url()).pathname, '/dashboard/login');
  await page.fill('#token', 'not-the-dashboard-token');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Wrong token.');
  assert.equal(new URL(page.url()).pathname, '/dashboard/login');
  await shot('login-refused');
});

test('the right token opens the dashboard, whose counters move with traffic', { skip: !present }, async () => {
  await page.fill('#token', DASHBOARD_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForURL(`${f.gw.adminUrl}/dashboard`);
  await page.waitForSelector('#status.ok');
  const before = await number('#total');
  await traffic(f, 'allowed', 5);
  await traffic(f, 'unauthenticated', 3);
  await traffic(f, 'forbidden', 2);
  await until('the request counter', async () => await number('#total') >= before + 10);
  await page.waitForSelector('#codes g[data-key="token_missing"]');
  await page.waitForSelector('#codes g[data-key="no_rule_matched"]');
  assert.ok(await number('#refused') >= 5);
  await page.waitForSelector('#statuses g[data-key="401"]');
  const countOf = async (code: string): Promise<number> => Number(await page.locator(`#codes g[data-key="${code}"] text.count`).textContent());
  const missing = await countOf('token_missing');
  await traffic(f, 'unauthenticated', 4);
  await until('the token_missing bar to move', async () => await countOf('token_missing') >= missing + 4);
  assert.ok(await page.locator('#chart-rps path.line.ok').getAttribute('d'));
  await shot('overview');
});

test('routes, providers and callers show the configuration and the traffic', { skip: !present }, async () => {
  await page.click('#tabs button[data-tab=routes]');
  await page.waitForSelector('#routes-table tr[data-route=orders]');
  const orders = await page.locator('#routes-table tr[data-route=orders]').textContent();
  assert.match(orders!, /\/orders\/\*/);
  assert.match(orders!, /roles: reader/);
  assert.match(orders!, /subject: mallory/);
  assert.match(orders!, new RegExp(String(f.upstream.port)));
  // Several targets: the live one up, the dead one down by its health checks.
  await page.waitForSelector(`#routes-table tr[data-route=replicas] .target[data-state=down]`);
  const replicas = page.locator('#routes-table tr[data-route=replicas]');
  assert.match((await replicas.textContent())!, /1 of 2 targets up/);
  assert.match((await replicas.locator(`.target[data-target="${f.upstream.url}"]`).textContent())!, /: up, last check passed/);
  assert.match((await replicas.locator('.target[data-state=down]').textContent())!, /down \(health check\), last check failed/);
  await shot('routes');
  await page.click('#tabs button[data-tab=providers]');
  await page.waitForSelector('#providers-table tr[data-provider=dev]');
  assert.match((await page.locator('#providers-table tr[data-provider=dev]').textContent())!, /yes/);
  await page.click('#tabs button[data-tab=callers]');
  await page.waitForSelector('#callers-table td:text-is("dev:alice")');
  await shot('callers');
});

test('the simulator shows the decision and every rule\'s outcome', { skip: !present }, async () => {
  await page.click('#tabs button[data-tab=simulator]');
  await page.fill('#sim input[name=path]', '/orders/42');
  await page.fill('#sim input[name=token]', f.tokens.reader);
  await page.click('#sim button[type=submit]');
  await page.waitForSelector('#sim-decision.ok');
  assert.match((await page.locator('#sim-decision').textContent())!, /^ALLOW/);
  assert.equal(await page.locator('#sim-rules tr.matched td:nth-child(2)').textContent(), 'readers');
  assert.equal(await page.locator('#sim-rules tr.unmatched td:nth-child(2)').textContent(), 'no-mallory');
  await shot('simulator-allowed');

  await page.fill('#sim input[name=token]', '');
  await page.fill('#sim textarea[name=claims]', '{"sub": "mallory", "roles": ["reader"]}');
  await page.click('#sim button[type=submit]');
  await page.waitForSelector('#sim-decision.bad');
  assert.match((await page.locator('#sim-decision').textContent())!, /^REFUSE 403 denied_by_rule/);
  assert.equal(await page.locator('#sim-rules tr.matched td:nth-child(2)').first().textContent(), 'no-mallory');
  await shot('simulator-denied');
});

test('the audit tail filters by route and by decision', { skip: !present }, async () => {
  await traffic(f, 'public', 3);
  await traffic(f, 'denied', 1);
  await page.click('#tabs button[data-tab=audit]');
  await page.waitForSelector('#audit-table tbody tr');
  const column = (cls: string): Promise<string[]> => page.locator(`#audit-table tbody td.${cls}`).allTextContents();

  await page.fill('#audit-filter input[name=route]', 'open');
  await until('only route open', async () => { const r = await column('route'); return r.length >= 3 && r.every((x) => x === 'open'); });
  const routes = await column('route');
  assert.ok(routes.length >= 3 && routes.every((r) => r === 'open'), routes.join());
  await shot('audit-route-open');

  await page.fill('#audit-filter input[name=route]', '');
  await page.selectOption('#audit-filter select[name=decision]', 'deny');
  await until('only denials', async () => { const d = await column('decision'); return d.length > 0 && d.every((x) => x === 'deny'); });
  const decisions = await column('decision');
  assert.ok(decisions.length >= 5 && decisions.every((d) => d === 'deny'), decisions.join());
  assert.ok((await column('code')).includes('denied_by_rule'));
  await shot('audit-deny');
});

test('nothing on the pages needed what the Content-Security-Policy forbids', { skip: !present }, () => {
  assert.deepEqual(cspViolations, []);
});
