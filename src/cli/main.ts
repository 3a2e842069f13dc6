import { startCommand } from './start.js';
import { validateCommand } from './validate.js';
import { explainCommand } from './explain.js';
import { devTokenCommand } from './dev-token.js';
import { sampleUpstreamCommand } from './sample-upstream.js';
import { apikeyCommand } from './apikey.js';
import { auditCommand } from './audit.js';

const USAGE = `Usage: gatehouse <command> [options]

Commands:
  start [-c FILE]              Serve a config (default: examples/quickstart.yaml with the sample upstream)
  validate -c FILE             Check a config; print every error with file, path and expected value
  explain -c FILE --method M --path P [--token T] [--host H] [--header 'k: v'] [--json]
                               Show the route, identity and decision for a request, sending no traffic
  dev-token [-c FILE] --sub S [--roles a,b] [--groups g] [--scope "a b"] [--ttl 1h] [--aud A]
                               Print a token from the development issuer (config with dev: true)
  sample-upstream [--port N]   Run the sample echo upstream used by the quick start
  apikey create --name N [--roles a,b] [--scopes a,b] [--owner O] [--expires DATE] [--plan P]
                               Print a new API key once and the hashed entry for the key file
  audit verify [--jwks FILE|URL] FILE...
                               Check tamper-evident audit files: report any modified, inserted,
                               deleted or reordered record, forged checkpoint or missing tail
`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  start: startCommand,
  validate: validateCommand,
  explain: explainCommand,
  'dev-token': devTokenCommand,
  'sample-upstream': sampleUpstreamCommand,
  apikey: apikeyCommand,
  audit: auditCommand,
};

/** CLI entry: returns the process exit code (long-running commands resolve when they stop). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`gatehouse: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return command(rest);
}
