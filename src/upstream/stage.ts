/** The upstream stage: send the prepared request and relay the answer. */
import type { Stage } from '../pipeline/stage.js';
import type { Upstream } from './upstream.js';

export function upstreamStage(upstream: Upstream): Stage {
  return { name: 'upstream', run: (ctx) => upstream.send(ctx) };
}
