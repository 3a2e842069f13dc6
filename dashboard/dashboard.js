// The Gatehouse dashboard: polls the admin port's JSON APIs and draws them. Every value from the
// gateway (paths, subjects, route names) goes into the page as text, never as markup.
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c === null || c === undefined ? '' : String(c)));
  return e;
}
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
const fill = (tbody, rows) => tbody.replaceChildren(...rows);
const ms = (v) => (v === null || v === undefined ? '–' : v < 10 ? `${v} ms` : `${Math.round(v)} ms`);

async function api(path, init) {
  const res = await fetch(`/dashboard/api/${path}`, { credentials: 'same-origin', headers: { accept: 'application/json', ...(init?.body ? { 'content-type': 'application/json' } : {}) }, ...init });
  if (res.status === 401) { location.assign('/dashboard/login'); throw new Error('logged out'); }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? body.status ?? `HTTP ${res.status}`);
  return body;
}

// Tabs: one section visible at a time, named in the URL's fragment.
function show(tab) {
  for (const s of document.querySelectorAll('section.tab')) s.hidden = s.id !== tab;
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === tab);
  if (tab === 'routes' || tab === 'providers') refreshConfig().catch(() => {});
  if (tab === 'audit') refreshAudit().catch(() => {});
}
const currentTab = () => (location.hash.slice(1) || 'overview');

// A line chart of one or more series over the window; nulls break the line.
function lineChart(target, series, classes) {
  // Drawn at the element's own width, so text is not stretched.
  const w = target.clientWidth || 600, h = 120, pad = 14;
  target.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const max = Math.max(1, ...series.flat().filter((v) => v !== null));
  const parts = [];
  series.forEach((values, s) => {
    let d = '';
    values.forEach((v, i) => {
      if (v === null) return;
      const x = (i / Math.max(1, values.length - 1)) * w;
      const y = h - (v / max) * (h - pad);
      d += `${d === '' || values[i - 1] === null ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    });
    parts.push(svg('path', { d: d || 'M0,0', class: classes[s] }));
  });
  parts.push(svg('text', { x: 4, y: 11, class: 'axis' }, `max ${Math.round(max * 100) / 100}`),
    svg('text', { x: 4, y: h - 2, class: 'axis' }, '−5 min'), svg('text', { x: w - 4, y: h - 2, class: 'axis', 'text-anchor': 'end' }, 'now'));
  target.replaceChildren(...parts);
}

// Horizontal bars, one row per item: label, bar, count.
function barChart(target, items, labelOf, cls) {
  const row = 22, labelW = 190, barW = 300;
  const max = Math.max(1, ...items.map((i) => i.count));
  target.setAttribute('viewBox', `0 0 ${labelW + barW + 60} ${Math.max(1, items.length) * row}`);
  if (items.length === 0) { target.replaceChildren(svg('text', { x: 0, y: 15, class: 'axis' }, 'none')); return; }
  target.replaceChildren(...items.map((item, n) => {
    const g = svg('g', { 'data-key': labelOf(item), class: 'bar' });
    g.append(svg('text', { x: 0, y: n * row + 15 }, labelOf(item)),
      svg('rect', { x: labelW, y: n * row + 4, height: row - 8, width: Math.max(2, (item.count / max) * barW), class: cls(item) }),
      svg('text', { x: labelW + (item.count / max) * barW + 6, y: n * row + 15, class: 'count' }, item.count));
    return g;
  }));
}

let lastStats;
async function refreshStats() {
  try {
    const s = await api('stats');
    lastStats = s;
    $('status').textContent = `live · ${new Date(s.now).toLocaleTimeString()}`;
    $('status').className = 'status ok';
    const recent = s.series.slice(-11, -1);
    $('total').textContent = s.totals.requests;
    $('rps').textContent = (recent.reduce((a, b) => a + b.requests, 0) / Math.max(1, recent.length)).toFixed(1);
    $('refused').textContent = s.totals.refused;
    $('p50').textContent = ms(s.totals.p50);
    $('p99').textContent = ms(s.totals.p99);
    lineChart($('chart-rps'), [s.series.map((p) => p.requests), s.series.map((p) => p.refused)], ['line ok', 'line bad']);
    lineChart($('chart-latency'), [s.series.map((p) => p.p50), s.series.map((p) => p.p99)], ['line p50', 'line p99']);
    barChart($('codes'), s.byCode, (i) => i.code, () => 'bad');
    barChart($('statuses'), s.byStatus, (i) => String(i.status), (i) => (i.status >= 400 ? 'bad' : 'ok'));
    fill($('limits').tBodies[0], s.limits.map((l) => el('tr', {}, el('td', {}, l.route), el('td', {}, l.limit ?? 'every limit (allowed)'), el('td', {}, l.allowed),
      el('td', { class: l.limited ? 'bad' : '' }, l.limited))));
    fill($('callers-table').tBodies[0], s.callers.map((c) => el('tr', {}, el('td', {}, c.caller), el('td', {}, c.requests), el('td', {}, c.refused), el('td', {}, c.error),
      el('td', {}, el('meter', { min: 0, max: s.callers[0].requests, value: c.requests })))));
  } catch (err) {
    $('status').textContent = `not updating: ${err.message}`;
    $('status').className = 'status bad';
  }
}

const rule = ({ name, ...conditions }) => {
  const text = Object.entries(conditions).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ') || 'any authenticated caller';
  return name ? `${name} (${text})` : text;
};
// An upstream with several targets: each target's state (health checks, ejection, circuit).
const STATE = { up: 'up', down: 'down (health check)', ejected: 'ejected', circuit_open: 'circuit open', half_open: 'half-open (probing)' };
const targetList = (targets) => (targets ?? []).map((x) => el('div', { class: `target ${x.state === 'up' ? 'ok' : 'bad'}`, 'data-target': x.target, 'data-state': x.state },
  `${x.target}: ${STATE[x.state] ?? x.state}${x.ejectedUntil ? ` until ${new Date(x.ejectedUntil).toLocaleTimeString()}` : ''}${x.inFlight ? `, ${x.inFlight} in flight` : ''}${x.lastCheck ? `, last check ${x.lastCheck.ok ? 'passed' : 'failed'} ${new Date(x.lastCheck.at).toLocaleTimeString()}` : ''}`));
const targetSummary = (targets) => (targets ? `${targets.filter((x) => x.state === 'up').length} of ${targets.length} targets up` : undefined);

async function refreshConfig() {
  const [{ routes }, { providers }] = await Promise.all([api('routes'), api('providers')]);
  const traffic = new Map((lastStats?.routes ?? []).map((r) => [r.route, r]));
  fill($('routes-table').tBodies[0], routes.map((r) => {
    const t = traffic.get(r.name);
    const health = !t ? 'no traffic' : t.upstreamErrors > 0 ? `${t.upstreamErrors} upstream errors` : t.lastUpstreamStatus ? `last answered ${t.lastUpstreamStatus}` : 'not reached';
    return el('tr', { 'data-route': r.name }, el('td', {}, r.name),
      el('td', {}, `${(r.match.methods ?? ['*']).join(',')} ${r.match.host ?? ''}${r.match.path}`),
      el('td', {}, r.public ? 'public' : r.authenticate.join(', ')),
      el('td', {}, r.public ? '–' : r.allow === null ? 'any authenticated caller' : r.allow.map(rule).join(' | ') || 'nobody'),
      el('td', {}, r.deny.map(rule).join(' | ') || '–'),
      el('td', {}, r.upstream ? `${r.upstream.kind} ${r.upstream.label}` : '–', ...targetList(r.upstream?.targets)),
      el('td', {}, t ? `${t.requests} requests, ${t.refused} refused, mean ${ms(t.meanMs && Math.round(t.meanMs * 10) / 10)}` : '–'),
      el('td', { class: t?.upstreamErrors || r.upstream?.targets?.some((x) => x.state !== 'up') ? 'bad' : '' }, targetSummary(r.upstream?.targets) ?? health));
  }));
  $('route-names').replaceChildren(...routes.map((r) => el('option', { value: r.name })));
  fill($('providers-table').tBodies[0], providers.map((p) => el('tr', { 'data-provider': p.name }, el('td', {}, p.name), el('td', {}, p.type),
    el('td', { class: p.ready ? 'ok' : 'bad' }, p.ready ? 'yes' : 'no'), el('td', {}, p.issuer ?? '–'), el('td', {}, (p.keyIds ?? []).join(', ') || (p.keyCount ? `${p.keyCount} keys` : '–')),
    el('td', {}, p.lastFetch ? new Date(p.lastFetch).toLocaleString() : '–'), el('td', { class: p.lastError ? 'bad' : '' }, p.lastError ?? '–'))));
}

let auditSeq = 0;
async function refreshAudit() {
  const seq = ++auditSeq;
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($('audit-filter'))) if (v !== '') params.set(k, String(v));
  const { rows } = await api(`audit?${params}`);
  // An older answer (before the filter changed) must not replace a newer one.
  if (seq !== auditSeq) return;
  fill($('audit-table').tBodies[0], rows.map((r) => el('tr', { class: r.decision },
    el('td', {}, new Date(r.time).toLocaleTimeString()), el('td', {}, r.method), el('td', {}, r.path), el('td', { class: 'route' }, r.route ?? '–'),
    el('td', {}, r.subject ?? '–'), el('td', { class: 'decision' }, r.decision), el('td', { class: 'code' }, r.error ?? ''), el('td', {}, r.status), el('td', {}, r.duration_ms))));
}

async function simulate(event) {
  event.preventDefault();
  const form = new FormData($('sim'));
  const body = {};
  for (const k of ['method', 'path', 'host', 'token', 'header']) if (form.get(k)) body[k] = form.get(k);
  $('sim-error').hidden = true;
  try {
    const claims = String(form.get('claims') ?? '').trim();
    if (claims) body.claims = JSON.parse(claims);
    const r = await api('simulate', { method: 'POST', body: JSON.stringify(body) });
    const allow = r.result.outcome === 'forward';
    $('sim-decision').textContent = allow
      ? `ALLOW: would forward to ${r.route?.upstream} (rule ${r.result.rule ?? '–'}, ${r.result.reason})`
      : `REFUSE ${r.result.status} ${r.result.code}: ${r.result.detail}${r.result.rule ? ` (rule ${r.result.rule})` : ''}`;
    $('sim-decision').className = `decision ${allow ? 'ok' : 'bad'}`;
    const facts = [['Route', r.route ? `${r.route.name}${r.route.public ? ' (public)' : ''}` : 'none'],
      ['Authentication', `${r.authn.result}${r.authn.reason ? ` ${r.authn.reason}` : ''}${r.authn.provider ? ` (provider ${r.authn.provider})` : ''}`],
      ['Identity', r.identity ? `${r.identity.subject} via ${r.identity.provider}; roles [${r.identity.roles.join(', ')}]; groups [${r.identity.groups.join(', ')}]; scopes [${r.identity.scopes.join(', ')}]` : '–'],
      ['Limits', r.limits ? r.limits.limits.map((l) => `${l.policy} key ${l.key}`).join('; ') : '–']];
    $('sim-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    fill($('sim-rules').tBodies[0], r.rules.map((x) => el('tr', { class: x.matched ? 'matched' : 'unmatched' }, el('td', {}, x.kind), el('td', {}, x.rule),
      el('td', {}, x.matched ? 'matches' : 'no match'), el('td', {}, x.why ?? ''))));
    $('sim-result').hidden = false;
  } catch (err) {
    $('sim-error').textContent = err.message;
    $('sim-error').hidden = false;
    $('sim-result').hidden = true;
  }
}

// Forms are sent with fetch: under `Referrer-Policy: no-referrer` a browser sends `Origin: null` with a
// plain form POST, which the gateway's CSRF check refuses; fetch sends the page's real origin.
async function post(form, onError) {
  const res = await fetch(form.action, { method: 'POST', credentials: 'same-origin', headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(new FormData(form)) });
  const body = await res.json().catch(() => ({}));
  if (res.ok) location.assign(body.location ?? '/dashboard');
  else onError(body.error ?? `HTTP ${res.status}`);
}

function initLogin() {
  const form = $('login');
  if (form === null) return;   // the dashboard signs in with SSO only
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void post(form, (message) => { $('message').textContent = message; });
  });
}

function initDashboard() {
  for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => { location.hash = b.dataset.tab; });
  $('logout').addEventListener('submit', (e) => { e.preventDefault(); void post($('logout'), () => location.assign('/dashboard/login')); });
  void api('session').then((s) => { $('who').textContent = s.subject === undefined ? 'token' : s.subject; }).catch(() => {});
  window.addEventListener('hashchange', () => show(currentTab()));
  $('sim').addEventListener('submit', (e) => void simulate(e));
  $('audit-filter').addEventListener('input', () => void refreshAudit());
  $('audit-filter').addEventListener('submit', (e) => { e.preventDefault(); void refreshAudit(); });
  show(currentTab());
  void refreshStats();
  setInterval(() => void refreshStats(), 1000);
  setInterval(() => { if (currentTab() === 'audit') void refreshAudit().catch(() => {}); }, 2000);
  setInterval(() => { if (currentTab() === 'routes' || currentTab() === 'providers') void refreshConfig().catch(() => {}); }, 5000);
}

if (document.body.classList.contains('login')) initLogin();
else initDashboard();
