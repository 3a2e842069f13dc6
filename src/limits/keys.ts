import type { Identity } from '../identity/identity.js';
import { readClaimPath } from '../identity/claims.js';

/** What a caller key is derived from. */
export interface KeyInput {
  readonly identity: Identity | undefined;
  readonly client: { readonly address: string };
}

type Part = (input: KeyInput) => string;

const MISSING = '-';

// Parts are escaped so that `|` (the separator) in a claim value cannot forge another caller's key.
const clean = (value: string | undefined): string => (value === undefined || value === '' ? MISSING : value.replace(/[%|]/g, (c) => (c === '%' ? '%25' : '%7C')));

const PARTS: Record<string, Part> = {
  subject: ({ identity }) => (identity ? `${clean(identity.provider)}/${clean(identity.subject)}` : MISSING),
  client: ({ identity }) => clean(identity?.clientId),
  apikey: ({ identity }) => (identity?.authMethod === 'apikey' ? clean(identity.subject) : MISSING),
  tenant: ({ identity }) => clean(identity?.tenant),
  ip: ({ client }) => clean(client.address),
  route: () => 'all',
};

function claimPart(path: string): Part {
  return ({ identity }) => {
    const value = identity ? readClaimPath(identity.claims, path) : undefined;
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? clean(String(value)) : MISSING;
  };
}

/** Compile a limit's `key` list into one function (built at load, called per request). */
export function compileKey(parts: readonly string[]): (input: KeyInput) => string {
  const fns = parts.map((p) => (p.startsWith('claim:') ? claimPart(p.slice(6)) : PARTS[p]!));
  const names = parts.map((p) => `${p}=`);
  if (fns.length === 1) {
    const [fn] = fns as [Part];
    const name = names[0]!;
    return (input) => name + fn(input);
  }
  return (input) => {
    let key = '';
    for (let i = 0; i < fns.length; i++) key += (i === 0 ? '' : '|') + names[i] + fns[i]!(input);
    return key;
  };
}
