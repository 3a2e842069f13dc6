/** Endpoints the gateway sends credentials (or requests signed with them) to: https, or http to this machine only. */

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;

/** Why `text` is not such an endpoint; undefined when it is. `example` shows a good one, `sends` says what travels there. */
export function endpointProblem(text: string, example: string, sends: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected a URL such as ${example}`;
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname))) return undefined;
  return `expected an https:// URL (http:// only to a loopback address): ${sends}`;
}
