// Nodes that an AI agent may call as a tool (usableAsTool). n8n hands the agent only the
// items of a tool node's first output (n8n-core's mapResult takes result[0]): a Rejected
// transition, an Unrouted exception or a later rule's output would reach the agent as an empty
// answer. As a tool, every output's items are therefore returned on the first one; each item
// still says what happened (ledger.applied and ledger.reason, exception.owner).

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

/** True when n8n runs this node as an agent's tool (its tool variant's type ends in "Tool"). */
export function runsAsTool(ctx: IExecuteFunctions): boolean {
	return /Tool$/.test(ctx.getNode().type ?? '');
}

export function outputsFor(ctx: IExecuteFunctions, outputs: INodeExecutionData[][]): INodeExecutionData[][] {
	return runsAsTool(ctx) ? [outputs.flat()] : outputs;
}
