import { Type } from '@sinclair/typebox';
import { StringOrList, Strict } from '../../config/types.js';

const PATTERN = 'Exact value, or a pattern where `*` stands for one or more characters other than `/`; a list matches any of its values.';

const CertificateMatch = Type.Object({
  cn: Type.Optional(StringOrList(`Subject common name. ${PATTERN}`)),
  spiffe: Type.Optional(StringOrList(`SPIFFE ID (the certificate's one \`spiffe://\` URI SAN), e.g. \`spiffe://prod.example/ns/billing/*\`. ${PATTERN}`)),
  dns: Type.Optional(StringOrList(`A DNS SAN (any of the certificate's DNS names; case-insensitive). ${PATTERN}`)),
  fingerprint: Type.Optional(StringOrList('SHA-256 fingerprint of the certificate, hex with or without colons (exact).')),
  issuerCn: Type.Optional(StringOrList(`Common name of the issuing CA. ${PATTERN}`)),
}, { additionalProperties: false, minProperties: 1, description: 'Certificate conditions; every key given must match.' });

const RoleRule = Strict({
  match: CertificateMatch,
  roles: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Roles given to a certificate that matches.' }),
}, 'Roles for the certificates that match; the roles of every matching rule are combined.');

export const MtlsProviderSchema = Strict({
  type: Type.Literal('mtls', { description: 'Client certificates verified at the listener (`listen.tls.clientCa`).' }),
  subject: Type.Union([Type.Literal('cn'), Type.Literal('spiffe'), Type.Literal('fingerprint'), Type.Literal('san-dns')], {
    default: 'cn',
    description: 'What becomes the identity subject: the subject CN, the SPIFFE ID, the SHA-256 fingerprint (lower-case hex) or the first DNS SAN. A certificate without it is refused.',
  }),
  roles: Type.Optional(Type.Array(RoleRule, { description: 'Role mapping rules, e.g. `{ match: { spiffe: "spiffe://prod.example/ns/billing/*" }, roles: [billing] }`.' })),
}, 'mTLS client certificates: the identity comes from the certificate the listener verified.');
