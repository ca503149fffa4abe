// Who is acting, for history: the workflow, the execution and the node's name.

import type { IExecuteFunctions } from 'n8n-workflow';
import type { Actor } from '../store/types';

export function actorOf(ctx: IExecuteFunctions): Actor {
	const workflowId = ctx.getWorkflow()?.id;
	return {
		workflowId: workflowId === undefined || workflowId === null ? null : String(workflowId),
		executionId: ctx.getExecutionId() ?? null,
		node: ctx.getNode().name,
	};
}

export const iso = (ms: number | null | undefined): string | null =>
	ms === null || ms === undefined ? null : new Date(ms).toISOString();
