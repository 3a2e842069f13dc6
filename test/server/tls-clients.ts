/** TLS clients for the rotation tests: client certificates made at test time, and what a connection sees. */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import type { makeTestPki } from '../harness/tls.js';

type Pki = ReturnType<typeof makeTestPki>;

/** A client certificate (CN `cn`, extendedKeyUsage clientAuth) issued by `pki`'s CA. */
export function issueClientCert(pki: Pki, cn: string): { cert: string; key: string } {
  const file = (name: string): string => join(pki.dir, name);
  const openssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'ignore', 'pipe'] }); };
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file(`${cn}.key`), '-out', file(`${cn}.csr`), '-subj', `/CN=${cn}`);
  writeFileSync(file(`${cn}.ext`), ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'].join('\n'));
  openssl('x509', '-req', '-in', file(`${cn}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file(`${cn}.pem`), '-days', '2', '-extfile', file(`${cn}.ext`));
  return { cert: readFileSync(file(`${cn}.pem`), 'utf8'), key: readFileSync(file(`${cn}.key`), 'utf8') };
}

/** SHA-256 fingerprint of a PEM certificate, as node reports a peer's. */
export const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** Replace `file` by rename, as editors and Kubernetes secret mounts do. */
export function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** The certificate a new TLS connection to `port` is served (fingerprint), without verifying it. */
export function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const fp = socket.getPeerX509Certificate()!.fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

export interface HttpsReply {
  status: number;
  body: string;
  /** Fingerprint of the certificate the connection was served. */
  fingerprint: string;
  /** The request went over a connection opened earlier (keep-alive). */
  reused: boolean;
  json<T = Record<string, unknown>>(): T;
}

/** The certificate each connection was served (node reports it only for the first response on a connection). */
const servedOn = new WeakMap<TLSSocket, string>();

/** GET `path` over HTTPS (a new connection unless `agent` keeps one), trusting `ca`. */
export function httpsGet(port: number, path: string, opts: { ca: string | string[]; headers?: Record<string, string>; client?: { cert: string; key: string }; agent?: https.Agent }): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path, servername: 'localhost', ca: opts.ca, headers: opts.headers ?? {}, agent: opts.agent ?? false,
      ...(opts.client ? { cert: opts.client.cert, key: opts.client.key } : {}),
    }, (res) => {
      const socket = res.socket as TLSSocket;
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? servedOn.get(socket);
      if (fingerprint === undefined) return reject(new Error('no peer certificate'));
      servedOn.set(socket, fingerprint);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint, reused: req.reusedSocket, json: () => JSON.parse(body) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Poll `probe` until it returns something other than undefined/false (no timing is asserted: gives up after 20 s). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
