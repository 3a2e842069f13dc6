/** A route's WebSocket limits, compiled once at load. */
import { parseDuration, parseSize } from '../../config/units.js';
import type { WebSocketConfig } from './schema.js';

export interface WebSocketSettings {
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly maxMessageBytes: number;
}

export const WEBSOCKET_DEFAULTS = { idleTimeout: '5m', maxLifetime: '24h', maxMessageSize: '1mib' } as const;

/** The settings of `cfg`, or undefined when the route does not proxy WebSockets. */
export function compileWebSocket(cfg: WebSocketConfig | undefined): WebSocketSettings | undefined {
  if (cfg === undefined || cfg === false) return undefined;
  const c = cfg === true ? {} : cfg;
  return Object.freeze({
    idleTimeoutMs: parseDuration(c.idleTimeout ?? WEBSOCKET_DEFAULTS.idleTimeout),
    maxLifetimeMs: parseDuration(c.maxLifetime ?? WEBSOCKET_DEFAULTS.maxLifetime),
    maxMessageBytes: parseSize(c.maxMessageSize ?? WEBSOCKET_DEFAULTS.maxMessageSize),
  });
}
