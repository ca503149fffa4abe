// The idempotency audit: which writes of an n8n workflow can happen twice or be lost, and why.
// Pure (no I/O, no n8n server): the CLI, the Idempotency Audit node and the tests call it with a
// workflow's JSON. graph.ts reads the file, catalog.ts knows the nodes, rules.ts finds hazards;
// here the findings get stable ids, acknowledgements and the six-point checklist.

import { createHash } from 'crypto';
import { readGraph } from './graph';
import { analyze } from './rules';
import type { Analysis, RawFinding } from './rules';
import type { AuditError, AuditReport, CheckState, Checklist, Finding, RuleId, WorkflowAudit } from './types';
import { RULE_IDS } from './types';

export * from './types';
export { NotAWorkflowError } from './graph';

/**
 * Audits one workflow (an object with `nodes` and `connections`, as n8n saves, exports and serves
 * it). Throws NotAWorkflowError for anything without a `nodes` list; a workflow with damaged
 * connections is audited as far as it can be, with the damage in `problems`.
 */
export function auditWorkflow(workflow: unknown, source: { file?: string } = {}): WorkflowAudit {
	const graph = readGraph(workflow);
	const analysis = analyze(graph);
	const workflowKey = graph.id ?? graph.name;
	const findings = analysis.findings.map((raw) => finish(raw, workflowKey, graph.nodes.get(raw.node)?.notes));
	const audit: WorkflowAudit = {
		...(source.file !== undefined ? { file: source.file } : {}),
		...(graph.id !== undefined ? { id: graph.id } : {}),
		name: graph.name,
		triggers: analysis.triggers,
		writes: analysis.writes.map((write) => write.node),
		checklist: checklist(analysis, findings),
		findings,
		writeDetails: analysis.writes,
	};
	if (graph.problems.length) audit.problems = graph.problems;
	return audit;
}

/** The report over many workflows; the counts leave out acknowledged findings. */
export function summarize(workflows: WorkflowAudit[], errors: AuditError[] = []): AuditReport {
	const summary = { workflows: workflows.length, must: 0, should: 0, info: 0, acknowledged: 0 };
	for (const workflow of workflows)
		for (const finding of workflow.findings) {
			if (finding.acknowledged) summary.acknowledged++;
			else summary[finding.severity]++;
		}
	return { version: 1, workflows, errors, summary };
}

/** A finding's id: the same workflow (id, else name), rule and node give the same id in every run. */
export function findingId(workflowKey: string, rule: RuleId, node: string): string {
	return createHash('sha256').update(JSON.stringify([workflowKey, rule, node])).digest('hex').slice(0, 16);
}

/**
 * Acknowledgements written in a node's notes, one per line:
 *   idempotency-audit: accept <rule>[, <rule>…] — <why>
 * (any dash or a colon before the reason; `accept all` accepts every rule on that node).
 */
export function acknowledgements(notes: unknown): Map<RuleId | 'all', string> {
	const accepted = new Map<RuleId | 'all', string>();
	if (typeof notes !== 'string') return accepted;
	const line = /idempotency-audit\s*:\s*accept\s+([a-z][a-z-]*(?:\s*,\s*[a-z][a-z-]*)*)\s*(?:[—–:-]+\s*(.*))?/gi;
	for (const match of notes.matchAll(line)) {
		const reason = (match[2] ?? '').trim();
		for (const rule of match[1].split(',').map((r) => r.trim().toLowerCase()))
			if (rule === 'all' || (RULE_IDS as readonly string[]).includes(rule)) accepted.set(rule as RuleId | 'all', reason);
	}
	return accepted;
}

function finish(raw: RawFinding, workflowKey: string, notes: unknown): Finding {
	const finding: Finding = { id: findingId(workflowKey, raw.rule, raw.node), ...raw };
	const accepted = acknowledgements(notes);
	const reason = accepted.get(raw.rule) ?? accepted.get('all');
	if (reason !== undefined) {
		finding.acknowledged = true;
		if (reason) finding.acknowledgement = reason;
	}
	return finding;
}

const FAILURE_RULES: RuleId[] = ['write-error-unhandled', 'failed-write-settled-as-processed', 'timeout-retried-as-failure', 'ambiguous-dropped'];

function checklist(analysis: Analysis, findings: Finding[]): Checklist {
	const { facts } = analysis;
	const hasWrite = analysis.writes.length > 0 || facts.unknownWrites > 0;
	const open = (rules: RuleId[]) => findings.some((f) => !f.acknowledged && f.severity !== 'info' && rules.includes(f.rule));
	const state = (ok: boolean): CheckState => (hasWrite ? (ok ? 'ok' : 'missing') : 'n/a');
	const protectedOrNone = facts.needProtection === 0 || facts.guards > 0;
	return {
		writesMapped: state(!findings.some((f) => f.rule === 'unknown-write' && !f.acknowledged)),
		retrySources: state(facts.startsKnown),
		businessKey: state(protectedOrNone && !open(['unstable-key'])),
		checkBeforeWrite: state(!open(['unguarded-write', 'agent-tool-write', 'racy-dedup', 'retry-on-fail-write'])),
		stateLedger: state(protectedOrNone && !open(['claim-not-settled', 'failed-write-settled-as-processed'])),
		failureOwnership: state(protectedOrNone && !open(FAILURE_RULES)),
	};
}
