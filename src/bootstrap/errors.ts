import type { ConfigIssue } from '../registry/registry';

export type { ConfigIssue };

/** An invalid bootstrap: every problem found, one `path: message` per line. */
export class BootstrapError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'BootstrapError';
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Paths: `a.b`, `a[0]`, `a["key"]`; an empty base gives the child alone. */
export function joinPath(base: string, child: string): string {
  if (!base) return child;
  if (!child) return base;
  return child.startsWith('[') ? base + child : `${base}.${child}`;
}

export function prefixIssues(prefix: string, issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues.map((i) => ({ path: joinPath(prefix, i.path), message: i.message }));
}
