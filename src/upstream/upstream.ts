/** The upstream stage's one interface: where a request goes once every earlier stage let it pass. */
import type { RequestContext, OutboundRequest } from '../pipeline/context.js';
import type { StageResult } from '../pipeline/stage.js';
import type { Static, TSchema } from '@sinclair/typebox';
import type { InFlight } from '../limits/concurrency.js';
import type { ConfigIssue } from '../config/issue.js';
import type { ShowValue } from '../config/validate.js';

export interface Upstream {
  readonly kind: string;
  /** For the audit line and explain: where requests go (never credentials). */
  readonly label: string;
  /** A cap on requests in flight to this destination, shared by every route using it. */
  readonly cap: InFlight | undefined;
  /** The request as it will be sent, from the hygienic headers: method, final path, Host. */
  prepare(ctx: RequestContext, headers: Record<string, string | string[]>): OutboundRequest;
  /** Send `ctx.outbound` and answer through `ctx.exchange`; a refusal when nothing was sent to the client. */
  send(ctx: RequestContext): Promise<StageResult>;
  /** Stop taking requests; release connections once in-flight requests finish. */
  close(): Promise<void>;
  /** Each target's state now, for upstreams that balance over targets (the dashboard shows it). */
  targets?(): TargetView[];
}

/** What the dashboard shows of one target: whether it takes requests now, and why not. */
export interface TargetView {
  readonly target: string;
  /**
   * `up`, or why not, the first that applies: `down` (health checks failed), `ejected` (outlier
   * detection), `circuit_open` (cooling down), `half_open` (one probe request let through).
   */
  readonly state: 'up' | 'down' | 'ejected' | 'circuit_open' | 'half_open';
  readonly inFlight: number;
  readonly ejections: number;
  /** When an ejection ends (ISO time), while it lasts. */
  readonly ejectedUntil: string | null;
  readonly lastCheck: { readonly at: string; readonly ok: boolean } | null;
}

/** An upstream kind (registry.ts): the schema of its config and the factory that builds it. */
export interface UpstreamKind<S extends TSchema> {
  readonly schema: S;
  create(cfg: Static<S>, resources: UpstreamResources): Upstream;
  /** What the schema cannot say about a config of this kind, at `path` (validate reports it with the rest). */
  issues?(cfg: Static<S>, path: string, show: ShowValue): ConfigIssue[];
}

/** Resources the upstreams of one runtime share (connection pools, caps), each closed once with it. */
export class UpstreamResources {
  readonly #items = new Map<string, { value: unknown; close: () => Promise<void> }>();

  /** The resource named `name`, created by `make` on first use. */
  get<T>(name: string, make: () => T, close: (value: T) => Promise<void> = () => Promise.resolve()): T {
    let item = this.#items.get(name);
    if (item === undefined) {
      const value = make();
      this.#items.set(name, (item = { value, close: () => close(value) }));
    }
    return item.value as T;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#items.values()].map((i) => i.close()));
    this.#items.clear();
  }
}
