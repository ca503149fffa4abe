import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';
import { shownForOperation, shownForStore } from '../shared/n8n/credentialSlots';
import { credentialTest, slackCredentialTest } from '../shared/n8n/credentialTests';
import { outputsFor } from '../shared/n8n/toolOutputs';
import { router } from './actions/router';
import { configuredOutputs, routerProperties } from './actions/versionDescription';

/** Routes what needs a person to an owner, with a reason code, and remembers it until resolved. */
export class ExceptionRouter implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Exception Router',
		name: 'exceptionRouter',
		icon: 'file:exceptionRouter.svg',
		group: ['transform'],
		// 1.1: admin namespaces start empty (storeParameters.ts adminNamespaceProperties)
		version: [1, 1.1],
		defaultVersion: 1.1,
		subtitle:
			'={{ ({ route: "Route", resolve: "Resolve", resolveFromSlack: "Resolve from Slack", reconcile: "Reconcile", listOpen: "List open", get: "Get" })[$parameter["operation"]] ?? $parameter["operation"] }}',
		description:
			'Sends what needs a person onward with an owner and a reason code, remembers it, and prepares a Slack message',
		documentationUrl: 'https://www.npmjs.com/package/n8n-nodes-idempotency#exception-router',
		defaults: { name: 'Exception Router' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// One output per rule, then Unrouted (route); Handled, Ignored (resolveFromSlack); Processed,
		// Replayed, Left Open (reconcile); one output for the other operations.
		outputs: `={{(${configuredOutputs})($parameter)}}`,
		credentials: [
			{ name: 'idempotencyPostgresApi', testedBy: 'idempotencyPostgresApiTest', ...shownForStore('postgres') },
			{ name: 'idempotencyRedisApi', testedBy: 'idempotencyRedisApiTest', ...shownForStore('redis') },
			{ name: 'idempotencySlackApi', testedBy: 'idempotencySlackApiTest', ...shownForOperation('resolveFromSlack') },
		],
		properties: routerProperties,
	};

	methods = { credentialTest: { ...credentialTest, ...slackCredentialTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		// As an agent's tool: every output's items on the first, the only one the agent sees.
		return outputsFor(this, await router.call(this));
	}
}
