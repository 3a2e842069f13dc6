// Runs the CLI from source (tests must not depend on a build): node --import tsx test/harness/cli.ts <args>
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { console.error(`gatehouse: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
