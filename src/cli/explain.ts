import { parseArgs } from 'node:util';
import type { IncomingHttpHeaders } from 'node:http';
import { loadConfig } from '../config/load.js';
import { compileRuntime } from '../pipeline/runtime.js';
import { explainRequest, summarizeExplanation } from '../pipeline/explain.js';
import { configPath, reportError } from './common.js';

/** Exit code of `explain` when the request would be refused. */
export const EXPLAIN_REFUSED = 3;

function parseHeaders(list: string[] | undefined, token: string | undefined, host: string | undefined): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const line of list ?? []) {
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(`--header expects "name: value", got "${line}"`);
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  if (token) headers.authorization = `Bearer ${token}`;
  if (host) headers.host = host;
  return headers;
}

function print(s: ReturnType<typeof summarizeExplanation>, method: string, rawPath: string): void {
  const lines = [`request   ${method} ${rawPath}`, `path      ${s.path || '(not normalizable)'}`];
  lines.push(`route     ${s.route ? `${s.route.name} -> ${s.route.upstream}${s.route.public ? ' (public)' : ''}` : '(none)'}`);
  lines.push(`authn     ${s.authn.result}${s.authn.reason ? ` ${s.authn.reason}` : ''}${s.authn.provider ? ` provider=${s.authn.provider}` : ''}`);
  if (s.identity) {
    const i = s.identity;
    lines.push(`identity  subject=${i.subject} provider=${i.provider} issuer=${i.issuer ?? '-'} client_id=${i.clientId ?? '-'} tenant=${i.tenant ?? '-'}`);
    lines.push(`          roles=[${i.roles.join(', ')}] groups=[${i.groups.join(', ')}] scopes=[${i.scopes.join(', ')}] method=${i.authMethod}`);
  }
  for (const [n, r] of s.rules.entries()) {
    lines.push(`${n === 0 ? 'rules     ' : '          '}${r.kind} ${r.rule}: ${r.matched ? 'matches' : `no (${r.why})`}`);
  }
  if (s.limits) {
    s.limits.limits.forEach((l, n) => lines.push(`${n === 0 ? 'limits    ' : '          '}${l.policy} key ${l.key}${n === 0 && s.limits!.plan ? ` (plan ${s.limits!.plan})` : ''}`));
  }
  const r = s.result;
  lines.push(r.outcome === 'forward'
    ? `decision  ALLOW (${r.reason}, rule ${r.rule}): would forward to ${s.route?.upstream}`
    : `decision  REFUSE ${r.status} ${r.code}: ${r.detail}${r.rule ? ` (rule ${r.rule})` : ''}`);
  process.stdout.write(lines.join('\n') + '\n');
}

/** `gatehouse explain`: the route, identity and decision for a request, by the gateway's own code, with no traffic. */
export async function explainCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' }, token: { type: 'string' }, method: { type: 'string', default: 'GET' },
      path: { type: 'string' }, host: { type: 'string' }, header: { type: 'string', multiple: true }, json: { type: 'boolean' },
    },
  });
  if (!values.path) {
    process.stderr.write('gatehouse explain: --path is required (e.g. --path /api/orders)\n');
    return 2;
  }
  try {
    const loaded = await loadConfig(configPath(values.config));
    const runtime = await compileRuntime(loaded.config, { baseDir: loaded.baseDir, connect: false });
    await runtime.start();
    const method = values.method!.toUpperCase();
    const explanation = await explainRequest(runtime, method, values.path, parseHeaders(values.header, values.token, values.host));
    const s = summarizeExplanation(explanation);
    if (values.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    else print(s, method, values.path);
    await runtime.close();
    return explanation.refusal === undefined ? 0 : EXPLAIN_REFUSED;
  } catch (err) {
    return reportError(err);
  }
}
