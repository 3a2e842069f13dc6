import { readablePath } from './pointer.js';

/** One problem found in a config file. */
export interface ConfigIssue {
  /** JSON pointer such as `/routes/0/match/path`, or `''` for the whole document. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** `file:line:column: routes[0].name: message` — one line, never a resolved secret. */
export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.column ?? 1}`;
  const path = readablePath(issue.path);
  return path === '' ? `${where}: ${issue.message}` : `${where}: ${path}: ${issue.message}`;
}

/**
 * The config could not be loaded; `issues` lists every problem found, the message has one per line.
 * `warnings` are what was found besides (not in the message), for `validate` to show in the same run.
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];
  readonly warnings: readonly ConfigIssue[];
  constructor(file: string, issues: readonly ConfigIssue[], warnings: readonly ConfigIssue[] = []) {
    super(issues.map((i) => formatIssue(file, i)).join('\n'));
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
    this.warnings = warnings;
  }
}
