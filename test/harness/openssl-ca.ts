/**
 * Certificate authorities and the certificates they issue, made at test time with the openssl CLI
 * in a temp directory (P-256 keys): for client certificates (inbound and upstream mTLS) and for
 * servers with the names a test needs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem { readonly cert: string; readonly key: string; readonly certFile: string; readonly keyFile: string }
export interface Ca { readonly name: string; readonly pem: string; readonly file: string }

export interface IssueOptions {
  /** subjectAltName, e.g. `DNS:vm1.internal,IP:127.0.0.1` or `URI:spiffe://…`. */
  readonly san?: string;
  /** Validity: default now..+2 days. */
  readonly dates?: readonly string[];
  /** Extended key usage: `clientAuth` (default) or `serverAuth`. */
  readonly usage?: 'clientAuth' | 'serverAuth';
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export class OpensslCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'gatehouse-ca-'));

  file(name: string): string {
    return join(this.dir, name);
  }

  #openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** A self-signed CA named `name` (CN too). */
  makeCa(name: string): Ca {
    const file = (n: string): string => this.file(n);
    this.#openssl('req', '-x509', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    writeFileSync(file(`${name}.cnf`), ['[ca]', `default_ca=x`, '[x]', `database=${name}.index`, 'new_certs_dir=.', `serial=${name}.serial`,
      'default_md=sha256', 'policy=any', 'unique_subject=no', '[any]', 'commonName=supplied'].join('\n'));
    writeFileSync(file(`${name}.index`), '');
    writeFileSync(file(`${name}.serial`), '1000\n');
    return { name, pem: readFileSync(file(`${name}.pem`), 'utf8'), file: file(`${name}.pem`) };
  }

  /** A certificate with CN `cn` issued by `ca`, written as `<name>.pem` and `<name>.key`. */
  issue(ca: Ca, name: string, cn: string, opts: IssueOptions = {}): Pem {
    const file = (n: string): string => this.file(n);
    this.#openssl('req', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`);
    const ext = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', `extendedKeyUsage=${opts.usage ?? 'clientAuth'}`, ...(opts.san ? [`subjectAltName=${opts.san}`] : [])];
    writeFileSync(file(`${name}.ext`), ext.join('\n'));
    this.#openssl('ca', '-batch', '-notext', '-config', file(`${ca.name}.cnf`), '-cert', file(`${ca.name}.pem`), '-keyfile', file(`${ca.name}.key`),
      '-in', file(`${name}.csr`), '-out', file(`${name}.pem`), '-extfile', file(`${name}.ext`), ...(opts.dates ?? ['-days', '2']));
    return { cert: readFileSync(file(`${name}.pem`), 'utf8'), key: readFileSync(file(`${name}.key`), 'utf8'), certFile: file(`${name}.pem`), keyFile: file(`${name}.key`) };
  }

  /** `key` encrypted (AES-256, PKCS#8) with `passphrase`, written as `<name>`. */
  encrypt(key: Pem, name: string, passphrase: string): string {
    this.#openssl('pkcs8', '-topk8', '-in', key.keyFile, '-out', this.file(name), '-v2', 'aes-256-cbc', '-passout', `pass:${passphrase}`);
    return readFileSync(this.file(name), 'utf8');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
