import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import { shownForStore } from '../shared/n8n/credentialSlots';
import { credentialTest } from '../shared/n8n/credentialTests';
import { outputsFor } from '../shared/n8n/toolOutputs';
import { router } from './actions/router';
import { configuredOutputs, ledgerProperties } from './actions/versionDescription';

/** Records each key's processing state and answers "what happened to key X?". */
export class StateLedger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'State Ledger',
		name: 'stateLedger',
		icon: 'file:stateLedger.svg',
		group: ['transform'],
		// 1.1: admin namespaces start empty (storeParameters.ts adminNamespaceProperties)
		// 2: Mark Processed's Result starts empty, not {} (markProcessed.operation.ts)
		version: [1, 1.1, 2],
		defaultVersion: 2,
		subtitle:
			'={{ ({ markProcessed: "Mark processed", markFailed: "Mark failed", markReceived: "Mark received", release: "Release", get: "Get", history: "History", list: "List", stats: "Stats", report: "Report", purge: "Purge" })[$parameter["operation"]] ?? $parameter["operation"] }}',
		description:
			'Records what happened to each business key (received, processing, processed, failed) and answers "what happened to key X?"',
		documentationUrl: 'https://www.npmjs.com/package/n8n-nodes-idempotency#state-ledger',
		defaults: { name: 'State Ledger' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Transitions have Applied and Rejected outputs; the other operations one.
		outputs: `={{(${configuredOutputs})($parameter)}}`,
		credentials: [
			{ name: 'idempotencyPostgresApi', testedBy: 'idempotencyPostgresApiTest', ...shownForStore('postgres') },
			{ name: 'idempotencyRedisApi', testedBy: 'idempotencyRedisApiTest', ...shownForStore('redis') },
		],
		properties: ledgerProperties,
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		// As an agent's tool: every output's items on the first, the only one the agent sees.
		return outputsFor(this, await router.call(this));
	}
}
