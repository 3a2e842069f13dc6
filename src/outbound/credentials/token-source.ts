/**
 * Where a credential gets a token it presents or trades: a file (Kubernetes projected service account
 * tokens, Azure workload identity, EKS IRSA: re-read when it rotates), or another credential's token
 * (the gateway's own OAuth2 access token). One narrow interface for both.
 */
import { readFile } from 'node:fs/promises';
import { watchFiles } from '../../config/watch.js';

export interface TokenSource {
  /** For the audit line and errors: where the token comes from (a path, a client id), never the token. */
  readonly label: string;
  /** The current token, when one is held and still good; undefined when `token()` must be awaited. */
  peek(): string | undefined;
  /** The current token; rejects with a safe message when it cannot be had. */
  token(): Promise<string>;
  /** Load once and follow changes; resolves when the first load succeeded or failed. */
  start(): Promise<void>;
  close(): void;
}

/** A token kept in a file and re-read whenever the file changes (whitespace around it is dropped). */
export function fileTokenSource(path: string): TokenSource {
  let current: string | undefined;
  let loading: Promise<string> | undefined;
  let stop: (() => void) | undefined;
  const load = (): Promise<string> => {
    loading = readFile(path, 'utf8').then((text) => {
      const token = text.trim();
      if (token === '') {
        loading = undefined;
        throw new Error(`token file ${path} is empty`);
      }
      current = token;
      return token;
    }, (err: NodeJS.ErrnoException) => {
      loading = undefined; // the next token() tries again
      throw new Error(`token file ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.code ?? 'unreadable'}`);
    });
    return loading;
  };
  return {
    label: path,
    peek: () => current,
    token: () => (current !== undefined ? Promise.resolve(current) : loading ?? load()),
    async start() {
      stop ??= watchFiles([path], () => { current = undefined; void load().catch(() => undefined); });
      await load().catch(() => undefined);
    },
    close() {
      stop?.();
      stop = undefined;
    },
  };
}
