import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';

export interface H2Response { status: number; headers: IncomingHttpHeaders; body: Buffer; text: string; json<T = Record<string, unknown>>(): T }

/** Open an HTTP/2 session (`https://` with the test CA, or `http://` for h2c with prior knowledge). */
export function h2Connect(base: string, ca?: string, client?: { cert: string; key: string }): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base, ca === undefined ? {} : { ca, servername: 'localhost', ...client }, () => resolve(session));
    // A session error after connect reaches its streams (their requests reject): not an uncaught error.
    session.on('error', reject);
  });
}

/** One request on `session`; the path is sent exactly as given. Rejects when the stream is reset. */
export function h2Request(session: ClientHttp2Session, path: string, headers: OutgoingHttpHeaders = {}, body?: string | Buffer): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':path': path, ...headers }, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders | undefined;
    stream.on('response', (h) => { head = h; });
    stream.on('data', (c: Buffer) => chunks.push(c));
    // A stream cut with its connection ends without a response: that is no answer.
    stream.on('close', () => reject(new Error(`stream closed without a complete response (rst ${stream.rstCode})`)));
    stream.on('end', () => {
      if (head === undefined) return reject(new Error('stream ended without a response'));
      const buf = Buffer.concat(chunks);
      const text = buf.toString('utf8');
      resolve({ status: Number(head[':status']), headers: head, body: buf, text, json: () => JSON.parse(text) });
    });
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** One request on a new session, closed afterwards. */
export async function h2Once(base: string, path: string, options: { ca?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {}): Promise<H2Response> {
  const session = await h2Connect(base, options.ca);
  try {
    return await h2Request(session, path, options.headers, options.body);
  } finally {
    session.close();
  }
}
