import { Type } from '@sinclair/typebox';
import { StringOrList, Strict } from '../config/types.js';

/**
 * The `claims:` mapping fragment, shared by every provider that maps claims into an identity (OIDC,
 * introspection). `what` names the source ("Claim" or "Member"), `subjectDefault` its default.
 */
export function claimMappingSchema(what: string, subjectDefault: string, description: string) {
  return Strict({
    subject: Type.Optional(StringOrList(`${what}(s) holding the stable subject; the first present wins. Default ${subjectDefault}.`)),
    roles: Type.Optional(StringOrList(`${what}(s) holding roles (array or space-separated string; dotted paths such as \`realm_access.roles\` allowed). Default \`roles\`.`)),
    groups: Type.Optional(StringOrList(`${what}(s) holding groups. Default \`groups\`.`)),
    scopes: Type.Optional(StringOrList(`${what}(s) holding scopes (space-separated string or array). Default \`scope\`, \`scp\`.`)),
    tenant: Type.Optional(StringOrList(`${what}(s) holding the tenant. Default \`tid\`, \`tenant\`.`)),
    clientId: Type.Optional(StringOrList(`${what}(s) holding the client id. Default \`azp\`, \`client_id\`, \`cid\`, \`appid\`.`)),
  }, description);
}
