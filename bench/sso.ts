// Browser sessions: the cost of a session-authenticated request against a bearer-authenticated one on
// the same route (wrk, alternating rounds), and the size of the session cookies — a typical user and
// an Entra ID user with 200 groups. Usage: npm run bench:sso
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { createSealer } from '../src/authn/session/seal.js';
import { chunkedCookies } from '../src/authn/session/cookies.js';
import { makeIdentity } from '../src/identity/identity.js';
import { toPayload } from '../src/authn/session/session-data.js';
import { browse, CookieJar, SESSION_KEYS, startSsoEnv } from '../test/harness/sso.js';

const DURATION = process.env.BENCH_DURATION ?? '5s';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const run = promisify(execFile);

async function wrk(url: string, headers: string[]): Promise<number> {
  const { stdout } = await run('wrk', ['-t1', '-c32', `-d${DURATION}`, ...headers.flatMap((h) => ['-H', h]), url], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  if (non2xx) throw new Error(`${non2xx[1]} non-2xx responses from ${url}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)![1]);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Bytes of the Cookie header a browser sends, and of the largest Set-Cookie line. */
function sizes(lines: readonly string[]): { header: number; largestLine: number; chunks: number } {
  const pairs = lines.map((l) => l.split(';')[0]!);
  return { header: `Cookie: ${pairs.join('; ')}`.length, largestLine: Math.max(...lines.map((l) => `Set-Cookie: ${l}`.length)), chunks: lines.length };
}

/** An Entra ID user as its ID token describes them: oid subject, tenant, upn, roles, 200 group ids; a refresh token of Entra's size. */
async function entraCookie(groups: number): Promise<ReturnType<typeof sizes>> {
  const now = Math.floor(Date.now() / 1000);
  const identity = makeIdentity({
    provider: 'entra', issuer: 'https://login.microsoftonline.com/4b0911a0-929b-4715-944b-c03745165b3a/v2.0', subject: randomUUID(), clientId: randomUUID(), tenant: '4b0911a0-929b-4715-944b-c03745165b3a',
    roles: ['Reports.Read', 'Reports.Write', 'Admin'], groups: Array.from({ length: groups }, () => randomUUID()), scopes: [], authMethod: 'session',
    claims: { sub: randomBytes(32).toString('base64url'), iss: 'https://login.microsoftonline.com/4b0911a0-929b-4715-944b-c03745165b3a/v2.0', email: 'ada.lovelace@contoso.example', name: 'Ada Lovelace' },
    expiresAt: now + 3600,
  });
  // Entra refresh tokens are opaque and long (about 1.5 KB observed); its ID token with groups is over 2 KB, so it is not kept.
  const payload = toPayload({ sid: randomBytes(16).toString('base64url'), iat: now, touched: now, tokenExp: now + 3600, refreshToken: randomBytes(1100).toString('base64url'), idToken: undefined, opSid: randomUUID(), identity });
  const value = await createSealer(SESSION_KEYS).seal(payload);
  return sizes(chunkedCookies('gh_session', value, 3600, new Map()));
}

const env = await startSsoEnv({ login: { refreshBefore: '0s' } });
try {
  const signIn = async (login: string): Promise<string> => {
    const jar = new CookieJar();
    const nav = await browse(jar, `${env.origin}/app/home`, login);
    if (nav.response.status !== 200) throw new Error(`sign-in as ${login} ended with ${nav.response.status}`);
    await nav.response.arrayBuffer();
    return jar.header(env.origin)!;
  };
  const cookie = await signIn('bob');
  const many = await signIn('many');
  console.log('session cookie sizes (Cookie header bytes, chunks):');
  console.log(`  typical user (oidc-provider, 2 groups):      ${`Cookie: ${cookie}`.length} B, ${cookie.split('; ').length} chunk(s)`);
  console.log(`  200-group user (oidc-provider):              ${`Cookie: ${many}`.length} B, ${many.split('; ').length} chunk(s)`);
  for (const n of [5, 200]) {
    const s = await entraCookie(n);
    console.log(`  Entra ID user, ${String(n).padStart(3)} groups, 1.5 KB refresh token: ${s.header} B, ${s.chunks} chunk(s), largest Set-Cookie line ${s.largestLine} B`);
  }
  const token = await env.op.clientCredentialsToken();
  const url = `${env.origin}/app/x`;
  const scenarios: [string, string[]][] = [
    ['bearer JWT', [`Authorization: Bearer ${token}`, 'Accept: application/json']],
    ['session cookie', [`Cookie: ${cookie}`, 'Accept: application/json']],
  ];
  const results = new Map<string, number[]>(scenarios.map(([n]) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) for (const [name, headers] of scenarios) results.get(name)!.push(await wrk(url, headers));
  const bearer = median(results.get('bearer JWT')!);
  for (const [name, xs] of results) console.log(`${name.padEnd(16)} ${median(xs).toFixed(0).padStart(7)} req/s (median of ${ROUNDS} × ${DURATION})  ratio to bearer ${(median(xs) / bearer).toFixed(3)}`);
} finally {
  await env.stop();
}
