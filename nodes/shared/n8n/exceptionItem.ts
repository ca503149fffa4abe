// What the Exception Router and the Idempotency Trigger put on an item about an exception:
// `exception` (the record, times in ISO-8601) and `slack` (a ready Block Kit message). One
// builder, so both nodes wire into Slack the same way.

import type { FunctionsBase, IDataObject } from 'n8n-workflow';
import { slackMessage } from '../engine/slack';
import type { ExceptionRecord } from '../store/types';
import { iso } from './actor';

export function presentException(exception: ExceptionRecord, executionUrl: string | null): IDataObject {
	return {
		id: exception.id,
		namespace: exception.namespace,
		key: exception.key,
		reason: exception.reason,
		reasons: exception.reasons,
		groupBy: exception.groupBy,
		owner: exception.owner,
		severity: exception.severity,
		route: exception.route,
		status: exception.status,
		occurrences: exception.occurrences,
		firstSeenAt: iso(exception.firstSeenAt),
		lastSeenAt: iso(exception.lastSeenAt),
		workflowId: exception.workflowId,
		executionId: exception.executionId,
		executionUrl,
		resolution: exception.resolution,
		resolvedBy: exception.resolvedBy,
		resolvedVia: exception.resolvedVia,
		resolvedAt: iso(exception.resolvedAt),
		note: exception.note,
	};
}

/** The editor's link to an execution, or null when n8n does not know its own address. */
export function executionUrlOf(ctx: Pick<FunctionsBase, 'getInstanceBaseUrl'>, workflowId: string | null, executionId: string | null): string | null {
	if (!workflowId || !executionId) return null;
	try {
		const base = String(ctx.getInstanceBaseUrl() ?? '').replace(/\/+$/, '');
		return base ? `${base}/workflow/${encodeURIComponent(workflowId)}/executions/${encodeURIComponent(executionId)}` : null;
	} catch {
		return null;
	}
}

/**
 * `exception` and `slack` for an item; `attempt` is the key's attempt when known; `buttons`: the
 * Resolve from Slack buttons; `heldByTestRun`: the Guard found the key held by a test run (the
 * Slack text then says so).
 */
export function exceptionFields(
	exception: ExceptionRecord,
	context: { attempt: number | null; executionUrl: string | null; buttons?: boolean; heldByTestRun?: boolean },
): IDataObject {
	return {
		exception: { ...presentException(exception, context.executionUrl), id: exception.id || null, attempt: context.attempt },
		slack: slackMessage(exception, {
			attempt: context.attempt,
			executionUrl: context.executionUrl,
			route: exception.route,
			buttons: context.buttons === true,
			heldByTestRun: context.heldByTestRun === true,
		}) as unknown as IDataObject,
	};
}
