// Writes the generated reference files; test/config/docs.test.ts fails when they drift from the code.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigDoc, renderErrorsDoc, renderJsonSchema } from '../src/config/docs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outputs: Record<string, string> = {
  'schema/gatehouse.schema.json': renderJsonSchema(),
  'docs/config.md': renderConfigDoc(),
  'docs/errors.md': renderErrorsDoc(),
};
for (const [file, content] of Object.entries(outputs)) {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), content);
  console.log(`wrote ${file}`);
}
