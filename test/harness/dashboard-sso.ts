/**
 * The dashboard signing in with SSO: the browser sign-in environment (a real interactive OpenID
 * Provider, a gateway whose provider `idp` has a login block for the public listener) plus the
 * dashboard on a known admin port with `admin.dashboard.sso`, and the gateway's log lines.
 */
import pino from 'pino';
import { freePort, retryOnPortClash, startSsoEnv, type SsoEnv } from './sso.js';

export const DASHBOARD_CLIENT_ID = 'gatehouse-dashboard';
export const DASHBOARD_CLIENT_SECRET = 'gatehouse-dashboard-secret-not-for-production';

export interface DashboardSsoEnv extends SsoEnv {
  /** The admin listener's own origin. */
  readonly admin: string;
  /** The origin browsers are told to use (`externalUrl`). */
  readonly external: string;
  /** The gateway's log lines so far. */
  readonly logs: Record<string, unknown>[];
}

export interface DashboardSsoOptions {
  /** The dashboard signs in with its own client (`sso.clientId`); otherwise with the `idp` login client. */
  readonly ownClient?: boolean;
  /** The admin origin's host name as browsers use it (default 127.0.0.1). */
  readonly host?: string;
  /** `sso.externalUrl` (default: the admin origin itself), e.g. the https:// origin of a proxy in front. */
  readonly externalUrl?: string;
  /** More `admin.dashboard` settings (e.g. `token`). */
  readonly dashboard?: Record<string, unknown>;
}

/** Accounts: everyone is `staff`; `alice` is also in `gatehouse-admins`, whom the dashboard allows. */
const account = (login: string): Record<string, unknown> => ({
  name: `User ${login}`, email: `${login}@example.test`,
  groups: login === 'alice' ? ['staff', 'gatehouse-admins'] : ['staff'], roles: ['reader'],
});

/** Start the OP, upstream and gateway with the dashboard's SSO sign-in (again on another port if its admin port was taken meanwhile). */
export function startDashboardSso(opts: DashboardSsoOptions = {}): Promise<DashboardSsoEnv> {
  return retryOnPortClash(() => startOnce(opts));
}

async function startOnce(opts: DashboardSsoOptions): Promise<DashboardSsoEnv> {
  const adminPort = await freePort();
  const admin = `http://${opts.host ?? '127.0.0.1'}:${adminPort}`;
  const external = opts.externalUrl ?? admin;
  const callback = `${external}/dashboard/sso/callback`;
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>); } });
  process.env.GH_TEST_DASHBOARD_SECRET = DASHBOARD_CLIENT_SECRET;
  const own = opts.ownClient === true;
  const env = await startSsoEnv({
    log,
    op: {
      account,
      clients: own ? [{
        client_id: DASHBOARD_CLIENT_ID, client_secret: DASHBOARD_CLIENT_SECRET, grant_types: ['authorization_code'], response_types: ['code'],
        redirect_uris: [callback], token_endpoint_auth_method: 'client_secret_basic', scope: 'openid profile email',
      }] : [],
    },
    ...(own ? {} : { redirectUris: [callback] }),
    config: {
      admin: {
        port: adminPort,
        dashboard: {
          sso: {
            provider: 'idp', externalUrl: external, allow: [{ name: 'admins', groups: ['gatehouse-admins'] }],
            ...(own ? { clientId: DASHBOARD_CLIENT_ID, clientSecret: '${env:GH_TEST_DASHBOARD_SECRET}' } : {}),
          },
          ...opts.dashboard,
        },
      },
    },
  });
  return { ...env, admin, external, logs, stop: env.stop };
}
