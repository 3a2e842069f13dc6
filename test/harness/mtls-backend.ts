/**
 * A backend that takes only two-way TLS: an https server with requestCert and rejectUnauthorized
 * (the handshake fails without a client certificate from `clientCa`). It answers with the subject
 * of the client certificate it saw and, when told the gateway's JWKS, verifies the identity
 * assertion with jose the way a backend VM would (aud and iss it expects).
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface BackendReply {
  /** CN of the client certificate. */
  readonly subject: string;
  readonly issuer: string;
  readonly path: string;
  /** The verified assertion's claims, or why it did not verify; absent when no verification was asked. */
  readonly assertion?: JWTPayload | { error: string };
}

export interface MtlsBackend {
  readonly port: number;
  readonly url: string;
  /** Verify `x-gatehouse-assertion` (or `header`) against the gateway's JWKS with these expectations. */
  verifyAssertions(opts: { jwksUri: string; audience: string; issuer: string; header?: string }): void;
  /** The assertion header of the last request (as received). */
  lastAssertion(): string | undefined;
  /** Requests to a path with /slow/ wait for this; resolves the ones waiting. */
  releaseSlow(): void;
  /** Resolves when such a request has arrived. */
  slowArrived(): Promise<void>;
  close(): Promise<void>;
}

export async function startMtlsBackend(opts: { cert: string; key: string; clientCa: string }): Promise<MtlsBackend> {
  let verify: { jwks: ReturnType<typeof createRemoteJWKSet>; audience: string; issuer: string; header: string } | undefined;
  let waiting: (() => void)[] = [];
  let arrived: (() => void)[] = [];
  let last: string | undefined;
  const server = https.createServer({ cert: opts.cert, key: opts.key, ca: opts.clientCa, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    void (async () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const path = req.url ?? '/';
      const header = req.headers[verify?.header ?? 'x-gatehouse-assertion'];
      last = typeof header === 'string' ? header : undefined;
      if (path.includes('/slow/')) {
        for (const a of arrived) a();
        arrived = [];
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      let assertion: BackendReply['assertion'];
      if (verify !== undefined) {
        try {
          assertion = (await jwtVerify(String(req.headers[verify.header]), verify.jwks, { audience: verify.audience, issuer: verify.issuer, algorithms: ['ES256'] })).payload;
        } catch (err) {
          assertion = { error: (err as { code?: string }).code ?? String(err) };
        }
      }
      const reply: BackendReply = { subject: String(peer.subject?.CN), issuer: String(peer.issuer?.CN), path, ...(assertion ? { assertion } : {}) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    })();
  });
  // Handshake failures are what the tests provoke; they must not crash the process.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const releaseSlow = (): void => {
    for (const w of waiting) w();
    waiting = [];
  };
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    verifyAssertions(v) {
      verify = { jwks: createRemoteJWKSet(new URL(v.jwksUri)), audience: v.audience, issuer: v.issuer, header: v.header ?? 'x-gatehouse-assertion' };
    },
    releaseSlow,
    lastAssertion: () => last,
    slowArrived: () => new Promise<void>((resolve) => arrived.push(resolve)),
    async close() {
      releaseSlow();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
