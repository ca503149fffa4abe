// The audit's summary as a ready Slack message (Block Kit), the same `{ text, blocks }` shape the
// Exception Router gives: the totals, then each workflow with findings at or above the chosen
// severity — node, rule, why — worst first, within Slack's limits (50 blocks, 3000 characters a
// section). Pure.

import type { AuditReport, Severity, WorkflowAudit } from '../audit';
import { clip, escapeMrkdwn, type SlackMessage } from '../engine/slack';
import { bySeverity, findingsAtLeast } from './severity';

const MARK: Record<Severity, string> = { must: ':red_circle:', should: ':large_yellow_circle:', info: ':white_circle:' };
// 2 head blocks + a divider and a section per workflow + 2 context blocks stay under 50
const MAX_WORKFLOW_SECTIONS = 20;
const MAX_FINDINGS_SHOWN = 6;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Where the audit found a workflow: its file, or its id in n8n. */
export function workflowLabel(workflow: Pick<WorkflowAudit, 'name' | 'file' | 'id'>): string {
	return workflow.name || workflow.file || (workflow.id ? `workflow ${workflow.id}` : '(unnamed workflow)');
}

export function auditSlackMessage(report: AuditReport, minimum: Severity): SlackMessage {
	const flagged = report.workflows
		.map((workflow) => ({ workflow, findings: bySeverity(findingsAtLeast(workflow, minimum)) }))
		.filter((entry) => entry.findings.length > 0);
	const { must, should, info } = report.summary;
	const totals = `${plural(report.summary.workflows, 'workflow')} audited: ${must} must, ${should} should, ${info} info`;
	const skipped = report.errors.length ? `; ${plural(report.errors.length, 'input')} skipped (not a workflow)` : '';
	const text = clip(
		flagged.length
			? `${MARK[flagged[0].findings[0].severity]} Idempotency audit: ${plural(flagged.length, 'workflow')} can write twice or lose a write (${minimum} or worse). ${totals}${skipped}.`
			: `:white_check_mark: Idempotency audit: no finding at ${minimum} or worse. ${totals}${skipped}.`,
		3000,
	);

	const blocks: Array<Record<string, unknown>> = [
		{ type: 'header', text: { type: 'plain_text', text: clip(`Idempotency audit: ${flagged.length ? plural(flagged.length, 'workflow') + ' to fix' : 'nothing to fix'}`, 150), emoji: true } },
		{ type: 'section', text: { type: 'mrkdwn', text: clip(`*${escapeMrkdwn(totals)}*${escapeMrkdwn(skipped)}. Showing ${minimum} or worse.`, 3000) } },
	];
	for (const { workflow, findings } of flagged.slice(0, MAX_WORKFLOW_SECTIONS)) {
		const lines = findings
			.slice(0, MAX_FINDINGS_SHOWN)
			.map((f) => `${MARK[f.severity]} *${escapeMrkdwn(clip(f.node, 100))}* — \`${f.rule}\`: ${escapeMrkdwn(clip(f.message, 300))}`);
		if (findings.length > MAX_FINDINGS_SHOWN) lines.push(`…and ${findings.length - MAX_FINDINGS_SHOWN} more`);
		const where = workflow.file ?? (workflow.id ? `id ${workflow.id}` : '');
		blocks.push({ type: 'divider' });
		blocks.push({
			type: 'section',
			text: { type: 'mrkdwn', text: clip(`*${escapeMrkdwn(clip(workflowLabel(workflow), 150))}*${where ? ` (${escapeMrkdwn(clip(where, 200))})` : ''}\n${lines.join('\n')}`, 3000) },
		});
	}
	if (flagged.length > MAX_WORKFLOW_SECTIONS) {
		blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${flagged.length - MAX_WORKFLOW_SECTIONS} more workflows with findings` }] });
	}
	blocks.push({
		type: 'context',
		elements: [{ type: 'mrkdwn', text: 'Each finding names the node and its fix in the audit report. Accept a risk on purpose in the node\'s notes: `idempotency-audit: accept <rule> — why`.' }],
	});
	return { text, blocks };
}
