import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { issueAt, loadError } from '../config/fixtures.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
/** A public route with these limits, and a plan carrying them too. */
const withLimits = (...limits: string[]) => `
plans:
  gold: { limits: [${limits.join(', ')}] }
routes:
  - name: r
    match: { path: /r }
    public: true
    limits: [${limits.join(', ')}]
    upstream: { url: http://127.0.0.1:3000 }
`;

describe('limit periods have a floor', () => {
  it('refuses a quota window under 1 s, naming the floor, on routes and plans alike', () => {
    const error = loadError(withLimits('{ name: q, key: [ip], quota: 20/1ms }'));
    for (const path of ['/routes/0/limits/0/quota', '/plans/gold/limits/0/quota']) {
      issueAt(error, path, 'quota period "1ms" is below the floor of 1s', 'use `rate`');
    }
    issueAt(loadError(withLimits('{ name: q, key: [ip], quota: 100/999ms }')), '/routes/0/limits/0/quota', 'below the floor of 1s');
    issueAt(loadError(withLimits('{ name: q, key: [ip], quota: 100/0s }')), '/routes/0/limits/0/quota', 'below the floor of 1s');
  });

  it('refuses a rate period under 1 ms, and a rate of nothing', () => {
    issueAt(loadError(withLimits('{ name: r, key: [ip], rate: 1/0.5ms }')), '/routes/0/limits/0/rate', 'rate period "0.5ms" is below the floor of 1ms');
    issueAt(loadError(withLimits('{ name: r, key: [ip], rate: 5/0s }')), '/routes/0/limits/0/rate', 'below the floor of 1ms');
    issueAt(loadError(withLimits('{ name: r, key: [ip], rate: 0/s }')), '/routes/0/limits/0/rate', 'expected a positive rate', 'count of 0');
  });

  it('accepts periods at and above the floors', () => {
    const limits = ['{ name: a, key: [ip], rate: 10/100ms }', '{ name: b, key: [ip], rate: 1/ms }', '{ name: c, key: [ip], quota: 100/1s }', '{ name: d, key: [ip], quota: 5/minute }', '{ name: e, key: [ip], quota: 9/month }'];
    const { config } = loadConfigText(withLimits(...limits), FILE, {});
    assert.equal(config.routes[0]?.limits?.length, 5);
  });
});

describe('limits.redis: one server or a cluster', () => {
  const withRedis = (redis: string): string => `limits: { store: redis, redis: ${redis} }\n${withLimits('{ name: a, key: [ip], rate: 10/s }')}`;

  it('accepts `url`, and `cluster.nodes` with references for the password', () => {
    const { config } = loadConfigText(withRedis('{ cluster: { nodes: ["rediss://:${env:PW}@10.0.0.1:6380", "rediss://:${env:PW}@10.0.0.2:6380"] } }'), FILE, { PW: 'x' });
    assert.deepEqual(config.limits?.redis?.cluster?.nodes.length, 2);
    assert.equal(loadConfigText(withRedis('{ url: "redis://127.0.0.1:6379" }'), FILE, {}).config.limits?.redis?.url, 'redis://127.0.0.1:6379');
  });

  it('refuses both or neither of `url` and `cluster`', () => {
    issueAt(loadError(withRedis('{ url: "redis://a:6379", cluster: { nodes: ["redis://b:6379"] } }')), '/limits/redis', 'exactly one of `url`');
    issueAt(loadError(withRedis('{ prefix: "x:" }')), '/limits/redis', 'exactly one of `url`');
  });

  it('refuses a node that is not a redis(s) URL with a port, and nodes of mixed schemes', () => {
    issueAt(loadError(withRedis('{ cluster: { nodes: ["10.0.0.1:6379"] } }')), '/limits/redis/cluster/nodes/0', 'expected a node URL');
    issueAt(loadError(withRedis('{ cluster: { nodes: ["redis://10.0.0.1"] } }')), '/limits/redis/cluster/nodes/0', 'scheme, host and port');
    issueAt(loadError(withRedis('{ cluster: { nodes: ["redis://a:6379", "rediss://b:6380"] } }')), '/limits/redis/cluster/nodes', 'mixed redis:// and rediss://');
    issueAt(loadError(withRedis('{ cluster: { nodes: [] } }')), '/limits/redis/cluster/nodes', '');
  });
});
