/** The HTML forms of refusals, for browsers on sign-in routes: an error page, and the body of a redirect. */

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small self-contained error page (no scripts, no external resources). */
export function errorPage(status: number, title: string, code: string, requestId: string, detail?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status} ${escapeHtml(title)}</title>`
    + '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
    + `<body><h1>${escapeHtml(title)}</h1>${detail ? `<p>${escapeHtml(detail)}</p>` : ''}`
    + `<p>Error <code>${escapeHtml(code)}</code>, request <code>${escapeHtml(requestId)}</code>.</p></body></html>`;
}

/** The body of a redirect, for clients that do not follow it. */
export function redirectBody(location: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Redirecting</title></head><body><a href="${escapeHtml(location)}">Continue</a></body></html>`;
}

/** Content security for both: nothing runs, nothing loads, nothing frames them. */
export const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
} as const;
