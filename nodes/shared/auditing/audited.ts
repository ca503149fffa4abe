// One workflow input through the audit, with which version of it was read: what the CLI and the
// Idempotency Audit node both do with each workflow they are given.

import { auditWorkflow, type WorkflowAudit } from '../audit';
import type { WorkflowInput } from './workflowInput';

/** A report entry with which version of the workflow was read (n8n 2.x). */
export type AuditedWorkflow = WorkflowAudit & { read?: 'published' | 'draft'; versionId?: string; versionNote?: string };

/** Audits one input. Throws what the analysis throws for input it cannot read (the caller reports it). */
export function auditInput(input: WorkflowInput & { file?: string; id?: string }): AuditedWorkflow {
	const audit: AuditedWorkflow = auditWorkflow(input.workflow, input.file ? { file: input.file } : {});
	if (input.id && !audit.id) audit.id = input.id;
	if (input.read) audit.read = input.read;
	if (input.versionId) audit.versionId = input.versionId;
	if (input.versionNote) audit.versionNote = input.versionNote;
	return audit;
}
