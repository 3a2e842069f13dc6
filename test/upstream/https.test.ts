import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { request } from 'undici';
import { makeTestPki } from '../harness/tls.js';
import { closeAll, startChain, type ChainOptions, type Handler } from './helpers.js';

const opened: { close(): Promise<void> }[] = [];
let pki: ReturnType<typeof makeTestPki>;
before(() => {
  pki = makeTestPki();
});
after(async () => {
  await closeAll(opened);
  rmSync(pki.dir, { recursive: true, force: true });
});

/** Upstream handler reporting the SNI it was reached with and the Host it got. */
const whoAmI: Handler = (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ sni: (req.socket as TLSSocket).servername ?? null, host: req.headers.host }));
};

const chain = (opts: Omit<ChainOptions, 'tls'>) => startChain(whoAmI, { ...opts, tls: { cert: pki.certPem, key: pki.keyPem } }, opened);

describe('https upstream', () => {
  test('verifies the upstream against the configured CA (IP SAN)', async () => {
    const { up, front } = await chain({ cfg: { ca: pki.caPem } });
    const res = await request(`${front.url}/`);
    assert.equal(res.statusCode, 200);
    const seen = (await res.body.json()) as { sni: string | false | null; host: string };
    assert.equal(seen.host, `127.0.0.1:${up.port}`);
  });

  test('serverName sets SNI and the name checked, even when the Host header is preserved', async () => {
    const { front } = await chain({ cfg: { ca: pki.caPem, serverName: 'localhost', preserveHost: true } });
    const res = await request(`${front.url}/`, { headers: { host: 'public.example' } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { sni: 'localhost', host: 'public.example' });
  });

  test('without the CA the upstream is not trusted → 502 upstream_unreachable', async () => {
    const { front } = await chain({});
    const result = front.nextResult();
    const res = await request(`${front.url}/`);
    assert.equal(res.statusCode, 502);
    assert.equal(((await res.body.json()) as { code: string }).code, 'upstream_unreachable');
    assert.equal((await result).error?.code, 'upstream_unreachable');
  });

  test('a serverName the certificate does not cover → 502 upstream_unreachable', async () => {
    const { front } = await chain({ cfg: { ca: pki.caPem, serverName: 'wrong.example' } });
    const res = await request(`${front.url}/`);
    assert.equal(res.statusCode, 502);
    assert.equal(((await res.body.json()) as { code: string }).code, 'upstream_unreachable');
  });
});
