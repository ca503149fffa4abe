import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import { shownForStore } from '../shared/n8n/credentialSlots';
import { credentialTest } from '../shared/n8n/credentialTests';
import * as claim from './actions/claim.operation';
import { guardProperties } from './actions/versionDescription';

/**
 * Routes each item to New, Duplicate or Ambiguous by an atomic claim of its business key.
 *
 * Not usable as an AI agent's tool: n8n gives the agent only a tool's first output, so
 * Duplicate and Ambiguous would come back empty, and a tool call has no Mark Processed after
 * it — every claimed key would stay in progress. Agents call a sub-workflow that holds the
 * Guard, the write and the Ledger instead (README, "Idempotency for AI agents").
 */
// eslint-disable-next-line @n8n/community-nodes/node-usable-as-tool
export class IdempotencyGuard implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Idempotency Guard',
		name: 'idempotencyGuard',
		icon: 'file:idempotencyGuard.svg',
		group: ['transform'],
		version: 1,
		subtitle:
			'={{ $parameter["keySource"] === "expression" ? "key: expression" : "key: " + $parameter["keyFields"] }}',
		description:
			'Lets each business event through once: routes items to New, Duplicate or Ambiguous by an atomic claim of their business key',
		defaults: { name: 'Idempotency Guard' },
		// n8n appends its tracking query to a codex docs URL, after the #section; this one it keeps as is.
		documentationUrl: 'https://www.npmjs.com/package/n8n-nodes-idempotency#idempotency-guard',
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['New', 'Duplicate', 'Ambiguous'],
		credentials: [
			{ name: 'idempotencyPostgresApi', testedBy: 'idempotencyPostgresApiTest', ...shownForStore('postgres') },
			{ name: 'idempotencyRedisApi', testedBy: 'idempotencyRedisApiTest', ...shownForStore('redis') },
		],
		hints: [
			{
				message:
					'Connect New to your write, then mark the key processed with a State Ledger node after it (and failed on its error output), so duplicates get the stored result and crashes are visible.',
				type: 'info',
				location: 'outputPane',
				whenToDisplay: 'beforeExecution',
			},
		],
		properties: guardProperties,
	};

	methods = { credentialTest };

	// One operation (claim), so no router: execute is the claim's.
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return claim.execute.call(this);
	}
}
