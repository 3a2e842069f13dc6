/** The route setting that lets a route proxy WebSocket upgrades (`websocket: true` or its limits). */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Size, Strict } from '../../config/types.js';

export const WebSocketSchema = Type.Union([
  Type.Boolean(),
  Strict({
    idleTimeout: Type.Optional(Duration('Close a WebSocket (1000) when no frame (message, ping or pong) went either way for this long. Default `5m`.')),
    maxLifetime: Type.Optional(Duration('Close a WebSocket (1001, going away: reconnect) this long after it opened, whatever it is doing. Default `24h`.')),
    maxMessageSize: Type.Optional(Size('Largest message either side may send; a larger one closes the WebSocket with 1009 (message too big). Default `1mib`.')),
  }, 'WebSocket limits; any left out takes its default.'),
], { description: 'Proxy WebSocket upgrades on this route (an HTTP upstream: `http://` becomes `ws://`, `https://` `wss://`). The upgrade passes every stage of the route like any request, and the upstream must accept it before the client\'s handshake completes. Absent or false: an upgrade is refused (400 `upgrade_not_supported`).' });

export type WebSocketConfig = Static<typeof WebSocketSchema>;
