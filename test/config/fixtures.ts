import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigText, type ConfigIssue } from '../../src/config/load.js';

/** A small valid config: one OIDC provider, one authenticated and one public route. */
export const VALID_YAML = `
providers:
  main:
    type: oidc
    issuer: https://id.example.com
    audience: api
routes:
  - name: api
    match: { path: /api/* }
    authenticate: [main]
    upstream: { url: http://127.0.0.1:3000 }
  - name: health
    public: true
    match: { path: /health }
    upstream: { url: http://127.0.0.1:3000 }
`;

/** A fresh temporary directory for config and secret files. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
}

/** Load `text` expecting failure; returns the ConfigError. */
export function loadError(text: string, env: NodeJS.ProcessEnv = {}, file = '/etc/gatehouse/gatehouse.yaml'): ConfigError {
  try {
    loadConfigText(text, file, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the config to be rejected');
}

/** The issue at `path`, asserting its message contains every fragment and the error message shows file and path. */
export function issueAt(error: ConfigError, path: string, ...fragments: string[]): ConfigIssue {
  const issue = error.issues.find((i) => i.path === path);
  assert.ok(issue, `no issue at ${path}; issues:\n${error.message}`);
  for (const fragment of fragments) assert.ok(issue.message.includes(fragment), `"${issue.message}" lacks "${fragment}"`);
  const line = error.message.split('\n').find((l) => l.includes(issue.message));
  assert.ok(line?.startsWith(`${error.file}:`), `message line should start with the file: ${line}`);
  return issue;
}
