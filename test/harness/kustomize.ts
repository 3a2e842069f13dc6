/**
 * The part of Kustomize that deploy/kubernetes uses, so the suite can render the manifests where
 * `kubectl` is not installed: resources (files and bases), `labels` with `includeSelectors`,
 * `configMapGenerator` (`behavior: replace`), and `patches` that are JSON 6902 operations (applied
 * with fast-json-patch, which refuses a path that does not exist) or `$patch: delete`. A patch
 * whose target matches no resource, and anything else Kustomize would do, throws: a manifest
 * change this harness cannot render fails the test instead of passing unchecked. Where kubectl is
 * installed the test compares this rendering with `kubectl kustomize`.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { parse, parseAllDocuments } from 'yaml';

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; [k: string]: unknown };
  [field: string]: unknown;
}

interface Kustomization {
  resources?: string[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  configMapGenerator?: { name: string; behavior?: string; files: string[] }[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
  patches?: { target: { kind: string; name: string }; patch: string }[];
  [field: string]: unknown;
}

const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'labels', 'configMapGenerator', 'generatorOptions', 'patches']);

function readResources(path: string): Resource[] {
  if (statSync(path).isDirectory()) return kustomize(path);
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as Resource).filter((r) => r !== null);
}

function addLabels(r: Resource, pairs: Record<string, string>, selectors: boolean): void {
  r.metadata.labels = { ...r.metadata.labels, ...pairs };
  if (!selectors) return;
  const spec = r.spec as Record<string, Record<string, unknown>> | undefined;
  if (spec === undefined) return;
  if (r.kind === 'Service') spec.selector = { ...(spec.selector as Record<string, string> | undefined), ...pairs };
  else if (spec.selector !== undefined) spec.selector.matchLabels = { ...(spec.selector.matchLabels as Record<string, string> | undefined), ...pairs };
  const template = spec.template as { metadata?: { labels?: Record<string, string> } } | undefined;
  if (template !== undefined) template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...pairs } };
}

/** The resources `dir`'s kustomization.yaml renders. */
export function kustomize(dir: string): Resource[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) throw new Error(`${dir}: the test's Kustomize does not render ${unknown.join(', ')}`);
  let out = (k.resources ?? []).flatMap((r) => readResources(join(dir, r)));
  for (const gen of k.configMapGenerator ?? []) {
    if (gen.behavior !== 'replace' || k.generatorOptions?.disableNameSuffixHash !== true) throw new Error(`${dir}: only configMapGenerator with behavior: replace and disableNameSuffixHash`);
    const target = out.find((r) => r.kind === 'ConfigMap' && r.metadata.name === gen.name);
    if (target === undefined) throw new Error(`${dir}: configMapGenerator replaces ConfigMap ${gen.name}, which the base does not have`);
    target.data = Object.fromEntries(gen.files.map((f) => [basename(f), readFileSync(join(dir, f), 'utf8')]));
  }
  for (const p of k.patches ?? []) {
    const matches = out.filter((r) => r.kind === p.target.kind && r.metadata.name === p.target.name);
    if (matches.length !== 1) throw new Error(`${dir}: the patch for ${p.target.kind}/${p.target.name} matches ${matches.length} resources`);
    const patch = parse(p.patch) as Operation[] | { $patch?: string };
    if (Array.isArray(patch)) {
      // validate = true: an operation on a path the resource does not have throws.
      const patched = fastJsonPatch.applyPatch(matches[0], patch, true, false).newDocument as Resource;
      out = out.map((r) => (r === matches[0] ? patched : r));
    } else if (patch.$patch === 'delete') {
      out = out.filter((r) => r !== matches[0]);
    } else {
      throw new Error(`${dir}: the test's Kustomize applies JSON 6902 patches and $patch: delete only`);
    }
  }
  for (const l of k.labels ?? []) for (const r of out) addLabels(r, l.pairs, l.includeSelectors === true);
  return out;
}
