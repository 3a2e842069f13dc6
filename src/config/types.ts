import { Type, type TSchema, type TString } from '@sinclair/typebox';

/** Pattern of a duration string (`250ms`, `30s`); parsed by `parseDuration`. */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$';
/** Pattern of a size string (`16kb`, `10mb`); parsed by `parseSize`. */
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?(b|kb|mb|gb|kib|mib|gib)$';

/** Shared schema pieces: durations, sizes, string-or-list. Parsed into numbers by config/units.ts. */
export const Duration = (description: string, def?: string): TString =>
  Type.String({ pattern: DURATION_PATTERN, description: `${description} Duration such as \`250ms\`, \`30s\`, \`5m\`, \`1h\`.`, ...(def ? { default: def } : {}) });

export const Size = (description: string, def?: string): TString =>
  Type.String({ pattern: SIZE_PATTERN, description: `${description} Size such as \`16kb\`, \`10mb\`, \`1gb\`.`, ...(def ? { default: def } : {}) });

/** An optional list of non-empty names (roles, groups, scopes). */
export const Names = (description: string) => Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description }));

export const StringOrList = (description: string) =>
  Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], { description });

/** A strict object: unknown keys are errors (they are usually typos). */
export const Strict = <T extends Record<string, TSchema>>(props: T, description: string) =>
  Type.Object(props, { additionalProperties: false, description });
