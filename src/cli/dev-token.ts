import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { parseDuration } from '../config/units.js';
import { loadDevIssuer } from '../authn/dev/dev-issuer.js';
import { configPath, reportError } from './common.js';

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** `gatehouse dev-token`: print a token from the development issuer of a config with `dev` enabled. */
export async function devTokenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' }, sub: { type: 'string', default: 'alice' }, roles: { type: 'string' },
      groups: { type: 'string' }, scope: { type: 'string' }, ttl: { type: 'string', default: '1h' }, aud: { type: 'string' },
    },
  });
  try {
    const file = configPath(values.config);
    const loaded = await loadConfig(file);
    if (!loaded.config.dev) {
      process.stderr.write(`gatehouse dev-token: ${file} does not enable the development issuer (add "dev: true")\n`);
      return 1;
    }
    const issuer = await loadDevIssuer(loaded.config.dev, loaded.baseDir);
    const roles = list(values.roles);
    const groups = list(values.groups);
    const token = await issuer.sign({
      sub: values.sub!,
      ttlSec: parseDuration(values.ttl!) / 1000,
      ...(roles ? { roles } : {}),
      ...(groups ? { groups } : {}),
      ...(values.scope ? { scope: values.scope } : {}),
      ...(values.aud ? { aud: values.aud } : {}),
    });
    issuer.provider.close();
    process.stdout.write(token + '\n');
    return 0;
  } catch (err) {
    return reportError(err);
  }
}
