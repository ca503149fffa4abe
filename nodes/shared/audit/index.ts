// The idempotency audit: which writes of an n8n workflow can happen twice or be lost, and why.
// Pure (no I/O, no n8n server): the CLI, the Idempotency Audit node and the tests call it with a
// workflow's JSON. How it reads the graph is in analysis.ts; the rules are in rules.ts.

import type { AuditError, AuditReport, WorkflowAudit } from './types';

export * from './types';

/** Thrown for input that is not a workflow (no `nodes` list): the caller reports it as an error
 * entry for that file and goes on. A workflow whose connections are damaged is not an error: it is
 * audited as far as it can be and the damage is listed in `problems`. */
export class NotAWorkflowError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'NotAWorkflowError';
	}
}

export function auditWorkflow(workflow: unknown, source: { file?: string } = {}): WorkflowAudit {
	void workflow;
	void source;
	throw new NotAWorkflowError('not implemented yet');
}

export function summarize(workflows: WorkflowAudit[], errors: AuditError[] = []): AuditReport {
	const summary = { workflows: workflows.length, must: 0, should: 0, info: 0, acknowledged: 0 };
	for (const workflow of workflows)
		for (const finding of workflow.findings) {
			if (finding.acknowledged) summary.acknowledged++;
			else summary[finding.severity]++;
		}
	return { version: 1, workflows, errors, summary };
}
