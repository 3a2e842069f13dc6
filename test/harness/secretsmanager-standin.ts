/**
 * A stand-in for AWS Secrets Manager's JSON API (a cloud endpoint, so a test double; the gateway
 * reaches it through the real `@aws-sdk/client-secrets-manager`). HTTPS with a certificate made in
 * the test; `POST /` with `X-Amz-Target: secretsmanager.GetSecretValue` and an
 * `application/x-amz-json-1.1` body `{ SecretId }`. Every request must carry a SigV4 signature of
 * the known access key for service `secretsmanager`: the stand-in signs the same request again
 * with @smithy/signature-v4 and compares (a missing or wrong signature gets Secrets Manager's
 * 400 `UnrecognizedClientException` / `InvalidSignatureException`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Hash } from '@smithy/hash-node';

export interface SecretsManagerStandIn {
  readonly url: string;
  readonly region: string;
  /** Environment for the gateway process: the access key (the SDK's default chain reads it). */
  readonly env: Record<string, string>;
  /** Every request: the secret asked for, whether the signature verified, the status returned. */
  readonly requests: { secretId: string | undefined; signed: boolean; status: number }[];
  /** Set a secret's current (AWSCURRENT) value. */
  put(name: string, value: string): void;
  close(): Promise<void>;
}

const AKID = 'AKIAGATEHOUSETEST000';

export async function startSecretsManagerStandIn(tls: { certPem: string; keyPem: string }, region = 'eu-west-1'): Promise<SecretsManagerStandIn> {
  const secretKey = randomUUID();
  const account = '123456789012';
  const secrets = new Map<string, { value: string; version: string }>();
  const requests: SecretsManagerStandIn['requests'] = [];

  const verify = async (req: IncomingMessage, body: string): Promise<boolean> => {
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/secretsmanager\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? '');
    const amzDate = req.headers['x-amz-date'];
    if (!m || m[1] !== AKID || m[3] !== region || typeof amzDate !== 'string') return false;
    const signedHeaders = m[4]!.split(';');
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) headers[name] = String(req.headers[name] ?? '');
    const date = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    const signer = new SignatureV4({ service: 'secretsmanager', region, sha256: Hash.bind(null, 'sha256'), credentials: { accessKeyId: AKID, secretAccessKey: secretKey } });
    const again = await signer.sign(new HttpRequest({ method: req.method ?? 'POST', protocol: 'https:', hostname: headers.host ?? '', path: req.url ?? '/', headers, body }), { signingDate: date });
    return String(again.headers.authorization ?? again.headers.Authorization).endsWith(`Signature=${m[5]}`);
  };

  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const entry = { secretId: undefined as string | undefined, signed: await verify(req, body), status: 0 };
        requests.push(entry);
        const reply = (status: number, payload: unknown, type?: string): void => {
          entry.status = status;
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), ...(type ? { 'x-amzn-errortype': type } : {}) }).end(JSON.stringify(payload));
        };
        if (!entry.signed) return reply(400, { __type: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided.' }, 'InvalidSignatureException');
        if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') return reply(400, { __type: 'UnknownOperationException' }, 'UnknownOperationException');
        const { SecretId } = JSON.parse(body) as { SecretId?: string };
        entry.secretId = SecretId;
        const name = SecretId?.startsWith('arn:') ? /:secret:(.+)$/.exec(SecretId)?.[1] : SecretId;
        const found = name === undefined ? undefined : secrets.get(name);
        if (!found) return reply(400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can\'t find the specified secret.' }, 'ResourceNotFoundException');
        reply(200, {
          ARN: `arn:aws:secretsmanager:${region}:${account}:secret:${name}`, Name: name, VersionId: found.version,
          SecretString: found.value, VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000,
        });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}`,
    region,
    env: { AWS_ACCESS_KEY_ID: AKID, AWS_SECRET_ACCESS_KEY: secretKey, AWS_REGION: region, AWS_EC2_METADATA_DISABLED: 'true' },
    requests,
    put(name, value) { secrets.set(name, { value, version: randomUUID() }); },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
