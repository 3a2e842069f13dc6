/**
 * Outbound credentials: how the gateway proves itself to a backend. Each configured credential is a
 * stage of the `outbound` part of the pipeline, run after header hygiene and the request line, in
 * the order the upstream lists them; each sees and edits the final request (`ctx.outbound`: method,
 * path with query, headers, body). A credential that cannot be obtained ends the request with a
 * refusal (503 `upstream_credential_unavailable`), never a request sent without it.
 */
import type { Stage } from '../../pipeline/stage.js';
import type { RequestRecord } from '../../observe/events.js';
import type { RequestContext } from '../../pipeline/context.js';

/** What the audit line says about an outbound credential: its kind and whose it is, never a secret. */
export type CredentialUse = NonNullable<RequestRecord['credentials']>[number];

/** An outbound credential, compiled once per distinct configuration and shared by the routes that use it. */
export interface OutboundCredential extends Stage {
  readonly name: 'outbound';
  /** The kind, as configured (`header`, `oauth2`, `sigv4`, …). */
  readonly kind: string;
  /** Background work (watching a token file, a first fetch); resolves when ready or failed once. */
  start?(): Promise<void>;
  close?(): void;
}

/** Record on the request's audit line that `use` was presented upstream. */
export function recordCredential(ctx: RequestContext, use: CredentialUse): void {
  (ctx.record.credentials ??= []).push(use);
}
