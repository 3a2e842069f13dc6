/** A broker kind as an upstream kind: its schema, the broker upstream built from it, and its config checks. */
import type { TSchema } from '@sinclair/typebox';
import type { ConfigIssue } from '../../config/issue.js';
import type { UpstreamKind } from '../upstream.js';
import type { BrokerKind } from './broker.js';
import { bodySchemaProblem } from './body.js';
import type { BrokerCommon } from './schema.js';
import { createBrokerUpstream } from './upstream.js';

export function brokerUpstreamKind<S extends TSchema>(type: string, kind: BrokerKind<S>): UpstreamKind<S> {
  return {
    schema: kind.schema,
    create: (cfg, resources) => createBrokerUpstream(type, kind, cfg, resources),
    issues(cfg, path, show) {
      const common = cfg as unknown as BrokerCommon;
      const problems: ConfigIssue[] = [];
      if (common.schema !== undefined) {
        const problem = bodySchemaProblem(common.schema);
        if (problem !== undefined) problems.push({ path: `${path}/schema`, message: `the body schema is ${problem}; give a JSON Schema object (draft 2020-12)` });
      }
      return [...problems, ...(kind.issues?.(cfg, path, show) ?? [])];
    },
  };
}
