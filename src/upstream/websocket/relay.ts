/**
 * Relaying one proxied WebSocket: messages both ways with their type (text or binary), pings and
 * pongs passed through, back-pressure (a side is not read while the other has too much queued),
 * close codes relayed, and the gateway's own closes: idle (1000), lifetime and drain (1001), a
 * message too big (1009, by `ws`'s maxPayload), a broken frame (1002/1007).
 */
import { WebSocket, type RawData } from 'ws';
import type { WebSocketSettings } from './settings.js';

/** Who closed a proxied WebSocket first. */
export type ClosedBy = 'client' | 'upstream' | 'gateway';

/** What a finished WebSocket did (the audit line's `websocket` member and its byte counts). */
export interface WebSocketOutcome {
  messagesIn: number;
  messagesOut: number;
  /** Message payload bytes from the client, and to it. */
  bytesIn: number;
  bytesOut: number;
  closeCode: number;
  closedBy: ClosedBy;
}

/** Queued bytes on one side past which the other side is no longer read (ws buffers the rest in the kernel). */
export const HIGH_WATER_BYTES = 1 << 20;
const LOW_WATER_BYTES = HIGH_WATER_BYTES / 4;

export const CLOSE_IDLE = 1000;
export const CLOSE_GOING_AWAY = 1001;
/** RFC 6455 §7.4.1 registry: 1014 "bad gateway", sent to the client when the upstream connection broke. */
const CLOSE_BAD_GATEWAY = 1014;
const CLOSE_NO_STATUS = 1005;
const CLOSE_ABNORMAL = 1006;

/** The close code the gateway sends when `ws` failed a side for a protocol error (by error code, never message). */
function protocolErrorCode(err: Error): number | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 1009;
  return code === 'WS_ERR_INVALID_UTF8' ? 1007 : 1002;
}

const sendable = (code: number): boolean => (code >= 1000 && code <= 1014 && code !== 1004 && code !== CLOSE_NO_STATUS && code !== CLOSE_ABNORMAL) || (code >= 3000 && code <= 4999);

const size = (data: RawData): number => (Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length);

/**
 * Relay between `client` and `upstream` until both are closed. `register` hands over the drain
 * hook (close with 1001) and returns its unregister, called once the outcome is complete.
 */
export function relay(client: WebSocket, upstream: WebSocket, settings: WebSocketSettings, register: (goAway: () => void) => () => void): Promise<WebSocketOutcome> {
  const outcome: WebSocketOutcome = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, closeCode: CLOSE_NO_STATUS, closedBy: 'client' };
  let decided = false;
  let open = 2;
  let resolveDone!: (o: WebSocketOutcome) => void;
  const done = new Promise<WebSocketOutcome>((r) => (resolveDone = r));

  /** The gateway closes both sides (idle, lifetime, drain, a broken or oversized message). */
  const closeBoth = (code: number, reason: string): void => {
    if (!decided) {
      decided = true;
      outcome.closedBy = 'gateway';
      outcome.closeCode = code;
    }
    for (const ws of [client, upstream]) if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
  };
  const idle = setTimeout(() => closeBoth(CLOSE_IDLE, 'idle timeout'), settings.idleTimeoutMs);
  const lifetime = setTimeout(() => closeBoth(CLOSE_GOING_AWAY, 'maximum lifetime reached'), settings.maxLifetimeMs);
  const active = (): void => { idle.refresh(); };
  const unregister = register(() => closeBoth(CLOSE_GOING_AWAY, 'gateway shutting down'));

  const pipe = (from: WebSocket, to: WebSocket, inbound: boolean): void => {
    let paused = false;
    const drained = (): void => {
      if (paused && to.bufferedAmount <= LOW_WATER_BYTES) {
        paused = false;
        from.resume();
      }
    };
    from.on('message', (data: RawData, isBinary: boolean) => {
      active();
      const n = size(data);
      if (inbound) { outcome.messagesIn++; outcome.bytesIn += n; } else { outcome.messagesOut++; outcome.bytesOut += n; }
      if (to.readyState !== WebSocket.OPEN) return;
      to.send(data, { binary: isBinary }, drained);
      // The other side reads slower than this one sends: stop reading this one until it catches up.
      if (!paused && to.bufferedAmount > HIGH_WATER_BYTES) {
        paused = true;
        from.pause();
      }
    });
    from.on('ping', (data: Buffer) => { active(); if (to.readyState === WebSocket.OPEN) to.ping(data); });
    from.on('pong', (data: Buffer) => { active(); if (to.readyState === WebSocket.OPEN) to.pong(data); });
    from.on('error', (err: Error) => {
      const code = protocolErrorCode(err);
      // ws already closes `from` with this code; the other side hears the same.
      if (code !== undefined) closeBoth(code, code === 1009 ? 'message too big' : 'protocol error');
    });
    from.on('close', (code: number, reason: Buffer) => {
      if (!decided) {
        decided = true;
        outcome.closedBy = inbound ? 'client' : 'upstream';
        outcome.closeCode = code;
      }
      if (to.readyState === WebSocket.OPEN || to.readyState === WebSocket.CONNECTING) {
        if (sendable(code)) to.close(code, reason);
        else if (code === CLOSE_NO_STATUS) to.close();
        else to.close(inbound ? CLOSE_GOING_AWAY : CLOSE_BAD_GATEWAY, inbound ? 'client went away' : 'upstream went away');
      }
      if (--open === 0) {
        clearTimeout(idle);
        clearTimeout(lifetime);
        unregister();
        resolveDone(outcome);
      }
    });
  };
  pipe(client, upstream, true);
  pipe(upstream, client, false);
  // Both sides were held (paused) until now, so that nothing arrives before a listener.
  client.resume();
  upstream.resume();
  return done;
}
