// Severity thresholds of the audit: the CLI's --fail-on and the node's Minimum Severity both ask
// "is this finding at or above the line?". An acknowledged finding (a risk the team accepted in
// the node's notes) never counts against the line.

import type { Finding, Severity, WorkflowAudit } from '../audit';

/** From worst to mildest. */
export const SEVERITIES: readonly Severity[] = ['must', 'should', 'info'];

const RANK: Record<Severity, number> = { must: 0, should: 1, info: 2 };

/** True when `severity` is `minimum` or worse. */
export function atLeast(severity: Severity, minimum: Severity): boolean {
	return RANK[severity] <= RANK[minimum];
}

/** The findings that count at `minimum`: at or above it and not acknowledged. */
export function findingsAtLeast(workflow: Pick<WorkflowAudit, 'findings'>, minimum: Severity, withAcknowledged = false): Finding[] {
	return workflow.findings.filter((f) => atLeast(f.severity, minimum) && (withAcknowledged || !f.acknowledged));
}

/** Findings in report order: worst first, then by node name, then rule. */
export function bySeverity(findings: readonly Finding[]): Finding[] {
	return [...findings].sort((a, b) => RANK[a.severity] - RANK[b.severity] || a.node.localeCompare(b.node) || a.rule.localeCompare(b.rule));
}

/** How many unacknowledged findings each rule has, over many workflows, most first. */
export function countsByRule(workflows: readonly WorkflowAudit[]): Array<{ rule: string; severity: Severity; count: number }> {
	const counts = new Map<string, { rule: string; severity: Severity; count: number }>();
	for (const workflow of workflows)
		for (const f of workflow.findings) {
			if (f.acknowledged) continue;
			const key = `${f.severity} ${f.rule}`;
			const entry = counts.get(key) ?? { rule: f.rule, severity: f.severity, count: 0 };
			entry.count++;
			counts.set(key, entry);
		}
	return [...counts.values()].sort((a, b) => RANK[a.severity] - RANK[b.severity] || b.count - a.count || a.rule.localeCompare(b.rule));
}
