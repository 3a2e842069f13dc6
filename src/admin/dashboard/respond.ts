/** How the dashboard answers: every response with its security headers, JSON, and bounded request bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/** One response with the dashboard's security headers. */
export function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string | readonly string[]> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body), ...extra }).end(body);
}

export const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string | readonly string[]> = {}): void => send(res, status, 'application/json', JSON.stringify(body), extra);

/** The request body as text, at most `max` bytes (undefined past it). */
export function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) { resolve(undefined); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export const wantsJson = (req: IncomingMessage): boolean => (req.headers.accept ?? '').includes('application/json');

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text made safe to put into HTML (content or a quoted attribute). */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
