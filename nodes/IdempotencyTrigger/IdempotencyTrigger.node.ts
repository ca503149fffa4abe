import { NodeConnectionTypes, type INodeExecutionData, type INodeType, type INodeTypeDescription, type IPollFunctions } from 'n8n-workflow';
import { shownForStore } from '../shared/n8n/credentialSlots';
import { credentialTest } from '../shared/n8n/credentialTests';
import { triggerProperties } from './description';
import { pollTrigger } from './poll';

/** Starts a workflow for claims that went stale and for new or repeated exceptions: alerts without a schedule. */
export class IdempotencyTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Idempotency Trigger',
		name: 'idempotencyTrigger',
		icon: 'file:idempotencyTrigger.svg',
		group: ['trigger'],
		version: 1,
		subtitle: '={{ ($parameter["events"] || []).map((e) => e === "stuckClaims" ? "Stuck claims" : "Exceptions").join(" and ") }}',
		documentationUrl: 'https://www.npmjs.com/package/n8n-nodes-idempotency#idempotency-trigger',
		description: 'Starts the workflow when a claim goes stale or an exception is opened or seen again',
		defaults: { name: 'Idempotency Trigger' },
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'idempotencyPostgresApi', testedBy: 'idempotencyPostgresApiTest', ...shownForStore('postgres') },
			{ name: 'idempotencyRedisApi', testedBy: 'idempotencyRedisApiTest', ...shownForStore('redis') },
		],
		properties: triggerProperties,
	};

	methods = { credentialTest };

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		return pollTrigger.call(this);
	}
}
