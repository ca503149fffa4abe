// The Idempotency Audit node's run: each input item is a workflow (as the n8n node's Get Many
// Workflows gives it, or any shape the CLI reads); each is audited (nodes/shared/audit) and the
// findings at or above Minimum Severity come out as one item per workflow, per finding, or one
// summary with a Slack message. An item that is not a workflow fails the node with its index —
// or, under continueOnFail, comes out as an error item (listed in the summary's errors).

import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { summarize, type AuditError, type Severity } from '../shared/audit';
import { auditInput, type AuditedWorkflow } from '../shared/auditing/audited';
import { findingsAtLeast, SEVERITIES } from '../shared/auditing/severity';
import { auditSlackMessage } from '../shared/auditing/slack';
import { located, workflowsIn, type VersionChoice } from '../shared/auditing/workflowInput';
import { errorItem } from '../shared/n8n/items';
import { itemError } from '../shared/n8n/errors';
import { InvalidInputError } from '../shared/store/errors';
import type { AuditOutput } from './description';

interface Options {
	includeAcknowledged?: boolean;
	includeClean?: boolean;
	version?: VersionChoice;
}

const NOT_A_WORKFLOW_HINT =
	"Each input item must be one workflow with its nodes and connections, as the n8n node's Workflow → Get Many operation gives them.";

export function runAudit(ctx: IExecuteFunctions): INodeExecutionData[] {
	const items = ctx.getInputData();
	if (items.length === 0) return [];
	const output = ctx.getNodeParameter('output', 0) as AuditOutput;
	const minimum = ctx.getNodeParameter('minimumSeverity', 0) as Severity;
	const options = ctx.getNodeParameter('options', 0, {}) as Options;
	if (!SEVERITIES.includes(minimum)) throw itemError(ctx, new InvalidInputError(`Minimum Severity "${String(minimum)}" is not one of ${SEVERITIES.join(', ')}`), 0);

	const audits: Array<{ index: number; audit: AuditedWorkflow }> = [];
	const errors: AuditError[] = [];
	const failed: INodeExecutionData[] = [];
	items.forEach((item, index) => {
		try {
			const { workflows, problems } = workflowsIn(item.json, options.version ?? 'published');
			if (!workflows.length) throw new InvalidInputError(problems[0]?.message ?? 'not a workflow', NOT_A_WORKFLOW_HINT);
			for (const problem of problems) errors.push({ file: located(`item ${index}`, problem.at), message: problem.message });
			for (const input of workflows) {
				const id = typeof input.workflow.id === 'string' ? input.workflow.id : undefined;
				audits.push({ index, audit: auditInput({ ...input, id }) });
			}
		} catch (error) {
			const problem = itemError(ctx, error instanceof InvalidInputError ? error : new InvalidInputError(String((error as Error)?.message ?? error), NOT_A_WORKFLOW_HINT), index);
			if (!ctx.continueOnFail()) throw problem;
			errors.push({ file: `item ${index}`, message: problem.message });
			failed.push(errorItem(items, index, problem));
		}
	});

	const shown = (audit: AuditedWorkflow) => findingsAtLeast(audit, minimum, options.includeAcknowledged === true);
	const entry = (audit: AuditedWorkflow): IDataObject => {
		const own = summarize([audit]).summary;
		return {
			...(audit as unknown as IDataObject),
			findings: shown(audit) as unknown as IDataObject[],
			counts: { must: own.must, should: own.should, info: own.info, acknowledged: own.acknowledged },
		};
	};

	if (output === 'findings') {
		const out = audits.flatMap(({ index, audit }) =>
			shown(audit).map((finding) => ({
				json: { workflow: audit.name, workflowId: audit.id ?? null, ...finding } as IDataObject,
				pairedItem: { item: index },
			})),
		);
		return [...out, ...failed];
	}
	if (output === 'workflows') {
		const out = audits
			.filter(({ audit }) => options.includeClean === true || shown(audit).length > 0)
			.map(({ index, audit }) => ({ json: entry(audit), pairedItem: { item: index } }));
		return [...out, ...failed];
	}
	const report = summarize(
		audits.map(({ audit }) => audit),
		errors,
	);
	return [
		{
			json: {
				version: report.version,
				minimumSeverity: minimum,
				summary: report.summary,
				workflows: audits.filter(({ audit }) => shown(audit).length > 0).map(({ audit }) => entry(audit)),
				errors: report.errors as unknown as IDataObject[],
				slack: auditSlackMessage(report, minimum) as unknown as IDataObject,
			},
			pairedItem: items.map((_, item) => ({ item })),
		},
	];
}
