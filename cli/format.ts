// The audit report for people: the terminal (one screen per workflow: where it was read, the
// checklist, then each finding with its severity, node, why and fix) and Markdown for a
// pull-request comment. `--json` prints the report itself (audit.ts).

import type { AuditReport, Checklist, Finding } from '../nodes/shared/audit';
import type { AuditedWorkflow } from '../nodes/shared/auditing/audited';
import { bySeverity, countsByRule } from '../nodes/shared/auditing/severity';
import { workflowLabel } from '../nodes/shared/auditing/slack';

export type CliReport = Omit<AuditReport, 'workflows'> & { workflows: AuditedWorkflow[] };

const CHECKS: Array<[keyof Checklist, string]> = [
	['writesMapped', 'writes mapped'],
	['retrySources', 'retry sources'],
	['businessKey', 'business key'],
	['checkBeforeWrite', 'check before write'],
	['stateLedger', 'state ledger'],
	['failureOwnership', 'failure ownership'],
];

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function versionText(workflow: AuditedWorkflow): string | undefined {
	if (!workflow.read) return undefined;
	const id = workflow.versionId ? ` ${workflow.versionId}` : '';
	return `${workflow.read} version${id}${workflow.versionNote ? ` (${workflow.versionNote})` : ''}`;
}

function counts(findings: readonly Finding[]): string {
	const open = findings.filter((f) => !f.acknowledged);
	const parts = (['must', 'should', 'info'] as const).map((s) => [s, open.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
	const acknowledged = findings.length - open.length;
	return [...parts.map(([s, n]) => `${n} ${s}`), ...(acknowledged ? [`${acknowledged} acknowledged`] : [])].join(', ') || 'no findings';
}

export function summaryLine(report: CliReport): string {
	const { workflows, must, should, info, acknowledged } = report.summary;
	const skipped = report.errors.length ? `, ${plural(report.errors.length, 'input')} skipped` : '';
	return `${plural(workflows, 'workflow')} audited${skipped}: ${must} must, ${should} should, ${info} info${acknowledged ? ` (${acknowledged} acknowledged)` : ''}`;
}

interface Paint {
	must: (s: string) => string;
	should: (s: string) => string;
	info: (s: string) => string;
	bold: (s: string) => string;
	dim: (s: string) => string;
}
const ansi = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const plain = (s: string) => s;
export const PAINT: Paint = { must: ansi('31;1'), should: ansi('33'), info: ansi('36'), bold: ansi('1'), dim: ansi('2') };
export const NO_PAINT: Paint = { must: plain, should: plain, info: plain, bold: plain, dim: plain };

export function terminalReport(report: CliReport, options: { quiet?: boolean; paint?: Paint } = {}): string {
	const paint = options.paint ?? NO_PAINT;
	const out: string[] = [];
	if (!options.quiet) {
		for (const workflow of report.workflows) {
			const where = [workflow.file, workflow.id && !workflow.file ? `id ${workflow.id}` : undefined].filter(Boolean).join(' ');
			out.push(`${paint.bold(workflowLabel(workflow))}${where ? paint.dim(`  ${where}`) : ''}`);
			const version = versionText(workflow);
			if (version) out.push(`  read       ${version}`);
			out.push(`  checklist  ${CHECKS.map(([k, label]) => `${label}: ${workflow.checklist[k]}`).join(' · ')}`);
			out.push(`  triggers   ${workflow.triggers.join(', ') || '(none)'}`);
			out.push(`  writes     ${workflow.writes.join(', ') || '(none)'}`);
			for (const problem of workflow.problems ?? []) out.push(`  ${paint.should('problem')}    ${problem}`);
			for (const f of bySeverity(workflow.findings)) {
				const label = f.acknowledged ? `${f.severity} (accepted)` : (f.severity === 'must' ? 'MUST' : f.severity).padEnd(6);
				out.push(`  ${f.acknowledged ? paint.dim(label) : paint[f.severity](label)}  ${f.rule} · ${paint.bold(f.node)}`);
				out.push(`          why: ${f.message}`);
				out.push(`          fix: ${f.fix}`);
				if (f.acknowledged) out.push(`          accepted: ${f.acknowledgement || '(no reason given)'}`);
			}
			if (!workflow.findings.length) out.push('  no findings');
			out.push('');
		}
	}
	if (report.errors.length) {
		out.push(paint.bold(`Skipped (${plural(report.errors.length, 'input')}: not a workflow)`));
		const shown = options.quiet ? report.errors.slice(0, 10) : report.errors;
		for (const e of shown) out.push(`  ${e.file}: ${e.message}`);
		if (shown.length < report.errors.length) out.push(`  …and ${report.errors.length - shown.length} more (--json lists them all)`);
		out.push('');
	}
	const damaged = report.workflows.filter((w) => w.problems?.length).length;
	if (damaged) out.push(`${plural(damaged, 'workflow')} audited as far as their damaged connections allow`);
	const rules = countsByRule(report.workflows);
	if (rules.length) out.push(`By rule: ${rules.map((r) => `${r.rule} (${r.severity}) ${r.count}`).join(' · ')}`);
	out.push(paint.bold(summaryLine(report)));
	return out.join('\n') + '\n';
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function markdownReport(report: CliReport): string {
	const { must, should, info, acknowledged } = report.summary;
	const out: string[] = ['### Idempotency audit', ''];
	const skipped = report.errors.length ? `, ${plural(report.errors.length, 'input')} skipped` : '';
	out.push(`**${must} must · ${should} should · ${info} info** in ${plural(report.summary.workflows, 'workflow')}${skipped}${acknowledged ? ` (${acknowledged} acknowledged)` : ''}`, '');
	out.push('| | Workflow | Writes | Findings |', '|---|---|---|---|');
	for (const w of report.workflows) {
		const open = w.findings.filter((f) => !f.acknowledged);
		const mark = open.some((f) => f.severity === 'must') ? ':red_circle:' : open.some((f) => f.severity === 'should') ? ':large_yellow_circle:' : ':white_check_mark:';
		const where = w.file ? ` \`${cell(w.file)}\`` : w.id ? ` (id ${cell(w.id)})` : '';
		out.push(`| ${mark} | ${cell(workflowLabel(w))}${where} | ${w.writes.length} | ${counts(w.findings)} |`);
	}
	for (const w of report.workflows.filter((x) => x.findings.length || x.problems?.length)) {
		out.push('', `<details${w.findings.some((f) => f.severity === 'must' && !f.acknowledged) ? ' open' : ''}><summary><b>${cell(workflowLabel(w))}</b> — ${counts(w.findings)}</summary>`, '');
		const version = versionText(w);
		if (version) out.push(`Read: ${version}`, '');
		for (const problem of w.problems ?? []) out.push(`> :warning: ${problem}`, '');
		if (w.findings.length) {
			out.push('| Severity | Rule | Node | Why | Fix |', '|---|---|---|---|---|');
			for (const f of bySeverity(w.findings)) {
				const severity = f.acknowledged ? `~~${f.severity}~~ accepted${f.acknowledgement ? `: ${cell(f.acknowledgement)}` : ''}` : `**${f.severity}**`;
				out.push(`| ${severity} | \`${f.rule}\` | ${cell(f.node)} | ${cell(f.message)} | ${cell(f.fix)} |`);
			}
		}
		out.push('', '</details>');
	}
	if (report.errors.length) {
		out.push('', `<details><summary>Skipped: ${plural(report.errors.length, 'input')} that are not workflows</summary>`, '');
		for (const e of report.errors) out.push(`- \`${cell(e.file)}\`: ${cell(e.message)}`);
		out.push('', '</details>');
	}
	return out.join('\n') + '\n';
}
