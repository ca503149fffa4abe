/** Small workflows for the audit's tests: nodes as n8n saves them, connections by name. */
import type { SavedNode } from '../../nodes/shared/audit/catalog';

export type Link = [from: string, to: string, output?: number, type?: string];

export function workflow(nodes: SavedNode[], links: Link[], extra: Record<string, unknown> = {}) {
	const connections: Record<string, Record<string, Array<Array<{ node: string; type: string; index: number }>>>> = {};
	for (const [from, to, output = 0, type = 'main'] of links) {
		const outputs = ((connections[from] ??= {})[type] ??= []);
		while (outputs.length <= output) outputs.push([]);
		outputs[output].push({ node: to, type, index: 0 });
	}
	return { id: 'wf-1', name: 'Test workflow', nodes, connections, ...extra };
}

const node = (name: string, type: string, parameters: Record<string, unknown> = {}, more: Partial<SavedNode> = {}): SavedNode => ({
	id: `id-${name}`,
	name,
	type,
	typeVersion: 1,
	parameters,
	...more,
});

export const webhook = (name = 'Webhook') => node(name, 'n8n-nodes-base.webhook', { httpMethod: 'POST', path: 'x' }, { typeVersion: 2 });
export const manual = (name = 'Manual') => node(name, 'n8n-nodes-base.manualTrigger');
export const schedule = (name = 'Schedule') => node(name, 'n8n-nodes-base.scheduleTrigger', {}, { typeVersion: 1.2 });
export const guard = (name = 'Guard', parameters: Record<string, unknown> = { keySource: 'fields', keyFields: 'body.invoiceId' }, more: Partial<SavedNode> = {}) =>
	node(name, 'n8n-nodes-idempotency.idempotencyGuard', parameters, more);
export const post = (name = 'Create Invoice', more: Partial<SavedNode> = {}, parameters: Record<string, unknown> = {}) =>
	node(name, 'n8n-nodes-base.httpRequest', { method: 'POST', url: 'https://billing.example.com/invoices', ...parameters }, { typeVersion: 4.2, ...more });
export const ledger = (name: string, operation?: string) =>
	node(name, 'n8n-nodes-idempotency.stateLedger', operation ? { operation, keySource: 'metadata' } : { keySource: 'metadata' });
export const router = (name = 'Route exception') =>
	node(name, 'n8n-nodes-idempotency.exceptionRouter', { operation: 'route', reason: 'fromItem', rules: { rule: [{ outputName: 'Ops' }] } });
export const ifNode = (name = 'Timeout?') =>
	node(name, 'n8n-nodes-base.if', { conditions: { conditions: [{ leftValue: '={{ $json.error.code }}', rightValue: 'ETIMEDOUT' }] } }, { typeVersion: 2.2 });
export const set = (name = 'Set', more: Partial<SavedNode> = {}) => node(name, 'n8n-nodes-base.set', {}, { typeVersion: 3.4, ...more });
export const slackPost = (name = 'Tell Slack') => node(name, 'n8n-nodes-base.slack', { channelId: 'C1', text: 'hi' }, { typeVersion: 2.2 });
export const app = (name: string, type: string, parameters: Record<string, unknown> = {}, more: Partial<SavedNode> = {}) => node(name, type, parameters, more);

/** A guarded write wired as the examples are: New → write → Mark Processed; write errors → IF →
 * Router (timeouts) / Mark Failed; Ambiguous → Router. Returns nodes and links to extend. */
export function safeInvoice(write = post('Create Invoice', { onError: 'continueErrorOutput' })) {
	const nodes = [webhook(), guard(), write, ledger('Mark Processed'), ifNode(), router('Route timeout'), ledger('Mark Failed', 'markFailed'), router()];
	const links: Link[] = [
		['Webhook', 'Guard'],
		['Guard', write.name, 0],
		['Guard', 'Route exception', 2],
		[write.name, 'Mark Processed', 0],
		[write.name, 'Timeout?', 1],
		['Timeout?', 'Route timeout', 0],
		['Timeout?', 'Mark Failed', 1],
	];
	return { nodes, links };
}
