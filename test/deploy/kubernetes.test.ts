import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { ROOT } from '../harness/examples.js';
import { kustomize, type Resource } from '../harness/kustomize.js';

// The Kubernetes manifests of deploy/kubernetes: every rendered resource validated against the
// Kubernetes API schemas (kubernetes-models), the overlays' patches applied to the base, the pod's
// security settings and probes checked against the gateway config it mounts, and — where kubectl
// is installed — the same rendering as `kubectl kustomize`.

const KUBE = join(ROOT, 'deploy/kubernetes');
const LAYOUTS = ['base', 'overlays/single', 'overlays/fleet'];
const ENV = { OIDC_ISSUER: 'https://login.example.com', OIDC_AUDIENCE: 'api://gatehouse', UPSTREAM_URL: 'http://orders:8080', REDIS_URL: 'redis://redis:6379' };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function validate(r: Resource): Promise<void> {
  const models = (await import(`kubernetes-models/${r.apiVersion}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[r.kind];
  assert.ok(Model, `no schema for ${r.apiVersion} ${r.kind}`);
  new Model(r).validate();
}

const one = (rs: Resource[], kind: string): Json | undefined => rs.find((r) => r.kind === kind) as Json | undefined;

/** The gateway config a layout mounts, loaded with the real loader (secret files as placeholders). */
function gatewayConfig(rs: Resource[]): ReturnType<typeof loadConfigText> {
  const text = String(one(rs, 'ConfigMap')!.data['gatehouse.yaml']);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kube-'));
  const pem = execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], { encoding: 'utf8' });
  writeFileSync(join(dir, 'assertion-key.pem'), pem);
  return loadConfigText(text.replaceAll('/etc/gatehouse/secrets/', `${dir}/`), '/etc/gatehouse/config/gatehouse.yaml', ENV);
}

describe('deploy/kubernetes', () => {
  for (const layout of LAYOUTS) {
    it(`${layout}: every resource is valid against the Kubernetes schemas; the pod is locked down and probes the admin port the config opens`, async () => {
      const rs = kustomize(join(KUBE, layout));
      for (const r of rs) await validate(r);
      const deployment = one(rs, 'Deployment')!;
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers as Json[];
      assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels, 'the selector selects the pods');
      assert.deepEqual(one(rs, 'Service')!.spec.selector, deployment.spec.template.metadata.labels);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.deepEqual([container!.securityContext.allowPrivilegeEscalation, container!.securityContext.readOnlyRootFilesystem, container!.securityContext.capabilities.drop], [false, true, ['ALL']]);
      assert.equal(pod.automountServiceAccountToken, false);
      const { config } = gatewayConfig(rs);
      const ports = Object.fromEntries((container!.ports as Json[]).map((p) => [p.name, p.containerPort]));
      assert.deepEqual([ports.http, ports.admin], [config.listen!.port, config.admin!.port]);
      assert.equal(config.admin!.host, '0.0.0.0', 'the kubelet reaches the admin port on the pod address');
      assert.deepEqual([container!.readinessProbe.httpGet.path, container!.readinessProbe.httpGet.port], ['/readyz', 'admin']);
      assert.deepEqual([container!.livenessProbe.httpGet.path, container!.livenessProbe.httpGet.port], ['/healthz', 'admin']);
      const mounts = container!.volumeMounts as Json[];
      const secrets = mounts.find((m) => m.name === 'secrets')!;
      assert.equal(secrets.subPath, undefined, 'a subPath mount would never see a rotated Secret');
      const refs = [...String(one(rs, 'ConfigMap')!.data['gatehouse.yaml']).matchAll(/\$\{file:([^}]+)\}/g)].map((m) => m[1]!);
      assert.ok(refs.length > 0 && refs.every((f) => f.startsWith(`${secrets.mountPath}/`)), `every \${file:} reference reads the Secret mount: ${refs.join(', ')}`);
      const env = new Set((container!.env as Json[]).map((e) => e.name));
      const envRefs = [...String(one(rs, 'ConfigMap')!.data['gatehouse.yaml']).matchAll(/\$\{env:([A-Z0-9_]+)\}/g)].map((m) => m[1]!);
      assert.deepEqual(envRefs.filter((e) => !env.has(e)), [], 'every ${env:} reference is set in the container');
      assert.ok(pod.terminationGracePeriodSeconds * 1000 > 10_000, 'longer than the drain (listen.shutdownGrace)');
    });
  }

  it('overlays: single is one replica without PDB or autoscaler and counts limits in memory; fleet is N replicas on Redis', () => {
    const single = kustomize(join(KUBE, 'overlays/single'));
    assert.equal(one(single, 'Deployment')!.spec.replicas, 1);
    assert.deepEqual([one(single, 'HorizontalPodAutoscaler'), one(single, 'PodDisruptionBudget')], [undefined, undefined]);
    assert.equal(gatewayConfig(single).config.limits?.store ?? 'memory', 'memory');
    const fleet = kustomize(join(KUBE, 'overlays/fleet'));
    assert.equal(one(fleet, 'Deployment')!.spec.replicas, 3);
    assert.equal(one(fleet, 'HorizontalPodAutoscaler')!.spec.minReplicas, 3);
    assert.equal(one(fleet, 'PodDisruptionBudget')!.spec.minAvailable, 2);
    assert.equal(gatewayConfig(fleet).config.limits?.store, 'redis');
    const redis = (one(fleet, 'Deployment')!.spec.template.spec.containers[0].env as Json[]).find((e) => e.name === 'REDIS_URL')!;
    assert.deepEqual(redis.valueFrom.secretKeyRef, { name: 'gatehouse-redis', key: 'url' }, 'the Redis URL (with its password) comes from a Secret');
  });

  it('a patch that no longer applies to the base fails the rendering', () => {
    const copy = mkdtempSync(join(tmpdir(), 'gatehouse-kube-copy-'));
    cpSync(KUBE, copy, { recursive: true });
    const overlay = join(copy, 'overlays/single/kustomization.yaml');
    writeFileSync(overlay, execFileSync('sed', ['s#/spec/strategy/rollingUpdate/maxUnavailable#/spec/strategy/rollingUpdat/maxUnavailable#', overlay], { encoding: 'utf8' }));
    assert.throws(() => kustomize(join(copy, 'overlays/single')), /rollingUpdat|OPERATION_PATH_UNRESOLVABLE|path/i);
  });

  it('renders as kubectl kustomize does (where kubectl is installed)', (t) => {
    let kubectl = true;
    try { execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' }); } catch { kubectl = false; }
    if (!kubectl) return t.skip('kubectl is not installed here (the schema and patch checks above still ran)');
    const key = (r: Resource): string => `${r.kind}/${r.metadata.name}`;
    for (const layout of LAYOUTS) {
      const theirs = parseAll(execFileSync('kubectl', ['kustomize', join(KUBE, layout)], { encoding: 'utf8' }));
      const ours = kustomize(join(KUBE, layout));
      assert.deepEqual(ours.map(key).sort(), theirs.map(key).sort(), layout);
      for (const r of ours) assert.deepEqual(r, theirs.find((x) => key(x) === key(r)), `${layout}: ${key(r)}`);
    }
  });
});

function parseAll(text: string): Resource[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Resource).filter((r) => r !== null);
}
