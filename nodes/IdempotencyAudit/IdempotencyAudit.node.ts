import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import { auditProperties } from './description';
import { runAudit } from './execute';

/** Finds the writes of workflows that can happen twice or be lost, and says why and how to fix each. */
export class IdempotencyAudit implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Idempotency Audit',
		name: 'idempotencyAudit',
		icon: 'file:idempotencyAudit.svg',
		group: ['transform'],
		version: 1,
		subtitle:
			'={{ ({ workflows: "One item per workflow", findings: "One item per finding", summary: "Summary" })[$parameter["output"]] + " · " + $parameter["minimumSeverity"] + " or worse" }}',
		description:
			'Finds the writes of workflows (from the n8n node’s Get Many Workflows) that can happen twice or be lost, with the node, why and the fix',
		defaults: { name: 'Idempotency Audit' },
		documentationUrl: 'https://www.npmjs.com/package/n8n-nodes-idempotency#audit-your-workflows',
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: auditProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [runAudit(this)];
	}
}
