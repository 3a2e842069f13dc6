import { parseArgs } from 'node:util';
import { formatApiKeyHash, generateApiKey } from '../authn/apikey/format.js';
import { parseExpires, parseKeyFile, type KeyEntryConfig } from '../authn/apikey/file.js';
import { reportError } from './common.js';

const USAGE = `Usage: gatehouse apikey create --name NAME [--roles a,b] [--scopes a,b] [--groups a,b]
                               [--owner WHO] [--expires 2027-01-01] [--plan PLAN]

Prints the new key once, on stdout, and on stderr the entry to add to the provider's key file
(the entry holds only the key's hash; the key itself is written nowhere).
`;

function list(value: string | undefined): string[] | undefined {
  const items = value?.split(',').map((s) => s.trim()).filter(Boolean);
  return items && items.length > 0 ? items : undefined;
}

/** The key file entry for a new key: public fields and the hash, never the key. */
function entryFor(id: string, key: string, values: Record<string, string | undefined>): KeyEntryConfig {
  const optional = (field: string, value: unknown) => (value === undefined ? {} : { [field]: value });
  return {
    id,
    name: values.name!,
    ...optional('owner', values.owner),
    ...optional('roles', list(values.roles)),
    ...optional('scopes', list(values.scopes)),
    ...optional('groups', list(values.groups)),
    ...optional('plan', values.plan),
    ...optional('expires', values.expires),
    created: new Date().toISOString(),
    hash: formatApiKeyHash(key),
  };
}

function create(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' }, owner: { type: 'string' }, roles: { type: 'string' }, scopes: { type: 'string' },
      groups: { type: 'string' }, expires: { type: 'string' }, plan: { type: 'string' },
    },
  });
  if (!values.name) {
    process.stderr.write(`gatehouse apikey create: --name is required\n\n${USAGE}`);
    return 2;
  }
  if (values.expires !== undefined && parseExpires(values.expires) === undefined) {
    process.stderr.write('gatehouse apikey create: --expires must be a date (2027-01-01) or a date-time with a zone (2027-01-01T12:00:00Z)\n');
    return 2;
  }
  const { id, key } = generateApiKey();
  const entry = entryFor(id, key, values);
  // The entry must load exactly as printed: check it the way the gateway will read it.
  parseKeyFile(JSON.stringify({ keys: [entry] }), 'cli');
  process.stdout.write(`${key}\n`);
  process.stderr.write([
    `API key for "${entry.name}" (id ${id}). It is shown only this once: store it now.`,
    'Add this entry under `keys:` in the key file (YAML; the part after "- " is also JSON):',
    `- ${JSON.stringify(entry)}`,
    '',
  ].join('\n'));
  return 0;
}

/** `gatehouse apikey create`: mint an API key. */
export async function apikeyCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '-h' || sub === '--help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'create') {
    process.stderr.write(sub === undefined ? USAGE : `gatehouse apikey: unknown subcommand "${sub}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return create(rest);
  } catch (err) {
    return reportError(err);
  }
}
