import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { issueAt, loadError } from './fixtures.js';

const config = (upstream: string): string => `
routes:
  - name: orders
    public: true
    match: { path: /orders/* }
    upstream: ${upstream}
`;

describe('several targets per HTTP upstream: config', () => {
  it('loads targets with balancing, health checks, ejection, breaker and retries; a plain url is unchanged', () => {
    const loaded = loadConfigText(config(`{ url: http://orders:8080/api, targets: [http://10.0.0.1:8080, http://10.0.0.2:8080/api], balance: least-request,
      healthCheck: { path: /healthz }, outlierDetection: { consecutiveFailures: 3 }, circuitBreaker: { failures: 4 }, retry: { attempts: 1 } }`), '/etc/gatehouse/gatehouse.yaml', {});
    const up = loaded.config.routes[0]!.upstream as Record<string, unknown>;
    assert.deepEqual(up.healthCheck, { path: '/healthz', interval: '5s', timeout: '2s', healthyThreshold: 2, unhealthyThreshold: 3 });
    assert.deepEqual(up.retry, { attempts: 1, budget: 0.2, minPerSecond: 3, backoff: '25ms', maxBackoff: '250ms' });
    const plain = loadConfigText(config('{ url: http://orders:8080 }'), '/etc/gatehouse/gatehouse.yaml', {}).config.routes[0]!.upstream as Record<string, unknown>;
    for (const key of ['targets', 'balance', 'healthCheck', 'outlierDetection', 'circuitBreaker', 'retry']) assert.equal(plain[key], undefined, key);
  });

  it('names a target with another scheme, another path or more than an origin', () => {
    const err = loadError(config('{ url: http://orders:8080/api, targets: [https://10.0.0.1:8080, http://10.0.0.2:8080/v2, "http://10.0.0.3:8080?x=1", "http://::1"] }'));
    issueAt(err, '/routes/0/upstream/targets/0', 'scheme of `url`');
    issueAt(err, '/routes/0/upstream/targets/1', 'path of `url`');
    issueAt(err, '/routes/0/upstream/targets/2', 'scheme, host and port only');
    issueAt(err, '/routes/0/upstream/targets/3', 'expected a URL');
  });

  it('refuses an unknown balance and an empty target list', () => {
    issueAt(loadError(config('{ url: http://orders:8080, targets: [http://10.0.0.1:8080], balance: random }')), '/routes/0/upstream/balance');
    const empty = loadError(config('{ url: http://orders:8080, targets: [] }'));
    assert.ok(empty.issues.some((i) => i.path.startsWith('/routes/0/upstream')), empty.message);
  });
});
