/**
 * OIDC preset rules as config issues. The rules live with the presets (identity/presets.ts), which
 * report a problem by throwing at compile time, one at a time and without a place in the file. Here
 * the same code is asked repeatedly, so that every problem of a provider is found in one run, each at
 * the key it concerns (`/providers/<name>/tenants`).
 */
import { compilePreset } from '../identity/presets.js';
import type { ConfigIssue } from './issue.js';
import { asJson, schemasAt } from './json-schema.js';
import { ConfigSchema } from './schema.js';

type OidcConfig = Parameters<typeof compilePreset>[1];

/** The keys an OIDC provider can have, from the schema. */
function oidcKeys(): readonly string[] {
  const member = schemasAt(asJson(ConfigSchema), ['providers', 'x']).find((s) => s.properties?.type?.const === 'oidc');
  return Object.keys(member?.properties ?? {});
}

let keys: readonly string[] | undefined;

/**
 * The key a preset's message is about: the one it says to set (`set jwksUri`, `needs tenants`), else
 * the first key it names (`tenants applies only …`, `Auth0 issuers end with "/"`). Undefined: the
 * provider as a whole.
 */
export function presetMessageKey(message: string): string | undefined {
  keys ??= oidcKeys();
  const told = /\b(?:set|needs)\s+`?([A-Za-z]+)`?/.exec(message)?.[1];
  if (told !== undefined && keys.includes(told)) return told;
  let best: { key: string; at: number } | undefined;
  for (const key of keys) {
    const at = new RegExp(`\\b${key}s?\\b`).exec(message)?.index;
    if (at !== undefined && (best === undefined || at < best.at)) best = { key, at };
  }
  return best?.key;
}

/**
 * Every preset problem of the OIDC provider `name` at `path`. Options that need another preset are
 * reported one by one (each is set aside and the rules asked again); then the preset's own rules.
 * `mask` hides any text that came from a `${env:}`/`${file:}` reference (a preset may quote the issuer).
 */
export function presetIssues(name: string, cfg: OidcConfig, path: string, mask: (text: string) => string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // Set-aside options read as absent; everything else is read from the provider itself.
  const current = Object.create(cfg as object) as Record<string, unknown>;
  const prefix = `provider "${name}"`;
  for (let round = 0; round < 20; round++) {
    try {
      compilePreset(name, current as OidcConfig);
      break;
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      const option = /^provider "[^"]*": `([A-Za-z]+)` applies only with preset: (.*)$/.exec(text);
      if (option && current[option[1]!] !== undefined) {
        const here = cfg.preset === undefined ? 'this provider has no preset' : `this provider has preset: ${cfg.preset}`;
        issues.push({ path: `${path}/${option[1]!}`, message: mask(`\`${option[1]!}\` applies only with preset: ${option[2]!} (${here})`) });
        current[option[1]!] = undefined;
        continue;
      }
      // `provider "x" (preset entra-id): <rule>` → `preset entra-id: <rule>`, placed by the rule's words.
      const rule = /^provider "[^"]*" \((preset [^)]*)\): (.*)$/s.exec(text);
      const inner = rule ? rule[2]! : text.replace(`${prefix}: `, '');
      const key = presetMessageKey(inner);
      issues.push({ path: key === undefined ? path : `${path}/${key}`, message: mask(rule ? `${rule[1]!}: ${inner}` : inner) });
      break;
    }
  }
  return issues;
}
