import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderConfigDoc, renderErrorsDoc, renderJsonSchema } from '../../src/config/docs.js';
import { ERRORS } from '../../src/errors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const committed = (file: string) => readFileSync(join(root, file), 'utf8');

describe('generated docs are up to date', () => {
  for (const [file, render] of [
    ['docs/config.md', renderConfigDoc],
    ['docs/errors.md', renderErrorsDoc],
    ['schema/gatehouse.schema.json', renderJsonSchema],
  ] as const) {
    it(file, () => {
      assert.ok(committed(file) === render(), `${file} is out of date: run npm run docs`);
    });
  }

  it('lists every error code with its status', () => {
    const doc = renderErrorsDoc();
    for (const [code, { status }] of Object.entries(ERRORS)) assert.ok(doc.includes(`| \`${code}\` | ${status} |`), code);
  });

  it('publishes a draft 2020-12 schema without TypeBox internals', () => {
    const schema = JSON.parse(renderJsonSchema()) as Record<string, unknown>;
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof schema.$id, 'string');
    assert.deepEqual(schema.required, ['routes']);
  });
});
