import { Type } from '@sinclair/typebox';
import { Strict } from '../config/types.js';

const Names = (what: string) => Type.Union([
  Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: `The identity must have every listed ${what}.` }),
  Strict({ anyOf: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }) }, `The identity must have at least one of the listed ${what}.`),
], { description: `${what}: a list (all required) or \`{ anyOf: [...] }\`.` });

const OneOf = (what: string) => Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], { description: `The identity's ${what} equals this value (or one of these values).` });

const ClaimCondition = Type.Union([
  Type.String(), Type.Number(), Type.Boolean(),
  Strict({ equals: Type.Union([Type.String(), Type.Number(), Type.Boolean()]) }, 'Claim equals this value.'),
  Strict({ contains: Type.Union([Type.String(), Type.Number()]) }, 'Claim (array, or space-separated string) contains this value.'),
  Strict({ in: Type.Array(Type.Union([Type.String(), Type.Number()]), { minItems: 1 }) }, 'Claim equals one of these values.'),
], { description: 'A scalar means equals.' });

export const RuleSchema = Strict({
  name: Type.Optional(Type.String({ minLength: 1, description: 'Name shown in decisions, audit and `explain` (default: `allow[0]`, `deny[1]`, ...).' })),
  roles: Type.Optional(Names('roles')),
  groups: Type.Optional(Names('groups')),
  scopes: Type.Optional(Names('scopes')),
  subject: Type.Optional(OneOf('subject')),
  clientId: Type.Optional(OneOf('client id')),
  tenant: Type.Optional(OneOf('tenant')),
  provider: Type.Optional(OneOf('provider name')),
  claims: Type.Optional(Type.Record(Type.String({ minLength: 1 }), ClaimCondition, { description: 'Conditions on claims, keyed by claim name or dotted path (`realm_access.roles`).' })),
}, 'A rule matches when every condition it lists holds. A rule with no condition matches any authenticated caller.');
