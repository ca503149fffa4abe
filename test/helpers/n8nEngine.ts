// Runs our nodes inside n8n's own execution engine (n8n-core's WorkflowExecute, the code n8n
// itself runs), for what depends on n8n's execution semantics: paired items and the lineage the
// Ledger follows, continue on fail and error outputs, binary data, expressions, the Trigger's
// static data. n8n does not publish its test harness; this is the smallest one that runs a
// workflow: a node-types registry (our node classes plus stand-ins for upstream nodes defined
// here — not n8n-nodes-base), a credentials helper that hands out the test stores' credentials,
// and the run data read back per node and output. What does not depend on n8n's semantics stays
// on the hand-written IExecuteFunctions of n8nContext.ts (faster, and no workflow to build).

import { Container } from '@n8n/di';
import { ExecutionLifecycleHooks, PollContext, PollTriggerExecutor, WorkflowExecute } from 'n8n-core';
import {
	ICredentialsHelper,
	NodeOperationError,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IConnections,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeType,
	type INodeTypes,
	type IRun,
	type ITaskData,
	type IWorkflowExecuteAdditionalData,
	type WorkflowExecuteMode,
} from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { IdempotencyAudit } from '../../nodes/IdempotencyAudit/IdempotencyAudit.node';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { IdempotencyTrigger } from '../../nodes/IdempotencyTrigger/IdempotencyTrigger.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';

// n8n's logger (read when its container first builds it) would print every node error the
// tests provoke on purpose; the run data is where the tests read them.
process.env.N8N_LOG_LEVEL ??= 'silent';

/** The type names n8n gives our nodes once the package is installed. */
export const TYPES = {
	guard: 'n8n-nodes-idempotency.idempotencyGuard',
	ledger: 'n8n-nodes-idempotency.stateLedger',
	router: 'n8n-nodes-idempotency.exceptionRouter',
	trigger: 'n8n-nodes-idempotency.idempotencyTrigger',
	audit: 'n8n-nodes-idempotency.idempotencyAudit',
	source: 'test.source',
	write: 'test.write',
} as const;

/**
 * Upstream stand-ins. `test.source` plays a trigger: it emits the items of its `items`
 * parameter (so they go through n8n's expression resolution like any parameter) and attaches
 * the binary data registered for it. `test.write` plays a CRM write (HTTP Request): it replaces
 * each item's json by the "response" of its `response` parameter (an expression per item) and
 * keeps the pairing, which is what the Ledger's lineage follows.
 */
const binaries = new Map<string, INodeExecutionData['binary'][]>();

class Source implements INodeType {
	description = {
		displayName: 'Source',
		name: 'source',
		group: ['input'],
		version: 1,
		description: 'Emits the items of its parameter',
		defaults: { name: 'Source' },
		inputs: [],
		outputs: ['main'],
		properties: [{ displayName: 'Items', name: 'items', type: 'json', default: '[]' }],
	} as unknown as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as string | IDataObject[];
		const list = (typeof raw === 'string' ? JSON.parse(raw) : raw) as IDataObject[];
		const attached = binaries.get(this.getNode().name) ?? [];
		return [list.map((json, i) => (attached[i] ? { json, binary: structuredClone(attached[i]) } : { json }))];
	}
}

class Write implements INodeType {
	description = {
		displayName: 'Write',
		name: 'write',
		group: ['transform'],
		version: 1,
		description: 'Replaces each item by a response',
		defaults: { name: 'Write' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [
			{ displayName: 'Response', name: 'response', type: 'json', default: '{}' },
			{ displayName: 'Fail', name: 'fail', type: 'boolean', default: false },
		],
	} as unknown as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [
			this.getInputData().map((_, i) => {
				if (this.getNodeParameter('fail', i, false) === true) {
					// What n8n's HTTP Request gives for a refused call: only the error, paired to its input.
					const error = new NodeOperationError(this.getNode(), 'CRM answered 503', { itemIndex: i });
					if (!this.continueOnFail()) throw error;
					return { json: { error: { message: error.message } }, pairedItem: { item: i } };
				}
				const raw = this.getNodeParameter('response', i) as string | IDataObject;
				return { json: typeof raw === 'string' ? (JSON.parse(raw) as IDataObject) : raw, pairedItem: { item: i } };
			}),
		];
	}
}

const registry: Record<string, INodeType> = {
	[TYPES.guard]: new IdempotencyGuard(),
	[TYPES.ledger]: new StateLedger(),
	[TYPES.router]: new ExceptionRouter(),
	[TYPES.trigger]: new IdempotencyTrigger(),
	[TYPES.audit]: new IdempotencyAudit(),
	[TYPES.source]: new Source(),
	[TYPES.write]: new Write(),
};

const nodeTypes: INodeTypes = {
	getByName: (type) => registry[type],
	getByNameAndVersion: (type) => {
		const found = registry[type];
		if (!found) throw new Error(`No node type ${type} in the test registry`);
		return found;
	},
	getKnownTypes: () => ({}),
};

/** Hands out the credentials of the test stores by type, as n8n's decrypts a saved credential. */
class TestCredentials extends ICredentialsHelper {
	constructor(private readonly byType: Record<string, Record<string, unknown>>) {
		super();
	}
	getParentTypes(): string[] {
		return [];
	}
	isCredentialUsableByNode(): boolean {
		return true;
	}
	async getDecrypted(_data: IWorkflowExecuteAdditionalData, _details: INodeCredentialsDetails, type: string): Promise<ICredentialDataDecryptedObject> {
		const found = this.byType[type];
		if (!found) throw new Error(`No test credential of type ${type}`);
		return structuredClone(found) as ICredentialDataDecryptedObject;
	}
	async authenticate(): Promise<never> {
		throw new Error('not used by these nodes');
	}
	async preAuthentication(): Promise<undefined> {
		return undefined;
	}
	async runPreAuthentication(): Promise<undefined> {
		return undefined;
	}
	async getCredentials(): Promise<never> {
		throw new Error('not used by these nodes');
	}
	async updateCredentials(): Promise<void> {}
	async updateCredentialsOauthTokenData(): Promise<void> {}
	getCredentialsProperties(): [] {
		return [];
	}
}

export interface FlowNode {
	name: string;
	type: string;
	parameters?: INode['parameters'];
	/** Binary data per emitted item, for a `test.source`. */
	binary?: INodeExecutionData['binary'][];
	continueOnFail?: boolean;
	onError?: INode['onError'];
	/** The node's version as saved; 1 unless given. */
	typeVersion?: number;
}

export interface Flow {
	nodes: FlowNode[];
	/** [from, to] or [from, output index, to]: main connections. */
	edges: Array<[string, string] | [string, number, string]>;
	credentials: Record<string, Record<string, unknown>>;
	workflowId?: string;
	staticData?: IDataObject;
}

function buildWorkflow(flow: Flow): Workflow {
	const nodes: INode[] = flow.nodes.map((n, i) => {
		if (n.binary) binaries.set(n.name, n.binary);
		return {
			id: `node-${i}`,
			name: n.name,
			type: n.type,
			typeVersion: n.typeVersion ?? 1,
			position: [i * 200, 0],
			parameters: n.parameters ?? {},
			credentials: {
				idempotencyPostgresApi: { id: 'cred-pg', name: 'Test Postgres' },
				idempotencyRedisApi: { id: 'cred-redis', name: 'Test Redis' },
			},
			...(n.continueOnFail ? { continueOnFail: true } : {}),
			...(n.onError ? { onError: n.onError } : {}),
		};
	});
	const connections: IConnections = {};
	for (const edge of flow.edges) {
		const [from, output, to] = edge.length === 2 ? [edge[0], 0, edge[1]] : edge;
		const outputs = (connections[from] ??= { main: [] }).main;
		while (outputs.length <= output) outputs.push([]);
		outputs[output]!.push({ node: to, type: 'main', index: 0 });
	}
	return new Workflow({
		id: flow.workflowId ?? 'wf-engine',
		name: 'Engine test',
		nodes,
		connections,
		active: false,
		nodeTypes,
		staticData: flow.staticData,
		settings: { executionOrder: 'v1' },
	});
}

let executions = 0;

function additionalData(flow: Flow, workflow: Workflow, mode: WorkflowExecuteMode, executionId: string): IWorkflowExecuteAdditionalData {
	const hooks = new ExecutionLifecycleHooks(mode, executionId, { id: workflow.id, name: workflow.name, nodes: [], connections: {}, active: false, activeVersionId: null, isArchived: false, createdAt: new Date(), updatedAt: new Date() } as never);
	return {
		credentialsHelper: new TestCredentials(flow.credentials),
		hooks,
		executionId,
		restApiUrl: 'http://localhost:5678/rest',
		instanceBaseUrl: 'http://localhost:5678/',
		formBaseUrl: 'http://localhost:5678/form',
		formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
		formTestBaseUrl: 'http://localhost:5678/form-test',
		webhookBaseUrl: 'http://localhost:5678/webhook',
		webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
		mcpBaseUrl: 'http://localhost:5678/mcp',
		mcpTestBaseUrl: 'http://localhost:5678/mcp-test',
		currentNodeExecutionIndex: 0,
		variables: {},
		executeWorkflow: async () => {
			throw new Error('sub-workflows are not part of these tests');
		},
		getRunExecutionData: async () => undefined,
		logAiEvent: () => {},
	} as unknown as IWorkflowExecuteAdditionalData;
}

export interface FlowRun {
	run: IRun;
	workflow: Workflow;
	executionId: string;
	/** The items a node sent to output `index` (0 = first), its last run. */
	output(node: string, index?: number): INodeExecutionData[];
	/** The node's task data, its last run (error, hints, executionStatus). */
	task(node: string): ITaskData;
}

/** Runs the flow from its first node, as a manual execution, and returns the run data. */
export async function runFlow(flow: Flow, mode: WorkflowExecuteMode = 'manual'): Promise<FlowRun> {
	const workflow = buildWorkflow(flow);
	const executionId = `ex-engine-${++executions}`;
	const execute = new WorkflowExecute(additionalData(flow, workflow, mode, executionId), mode);
	const run = await execute.run({ workflow, startNode: workflow.getNode(flow.nodes[0].name)! });
	const task = (node: string): ITaskData => {
		const tasks = run.data.resultData.runData[node];
		if (!tasks?.length) throw new Error(`${node} did not run${run.data.resultData.error ? `: ${run.data.resultData.error.message}` : ''}`);
		return tasks[tasks.length - 1];
	};
	return {
		run,
		workflow,
		executionId,
		task,
		output: (node, index = 0) => task(node).data?.main?.[index] ?? [],
	};
}

export interface Poll {
	/** What the Trigger emitted (its first output), or null when it emitted nothing. */
	emitted: INodeExecutionData[] | null;
	/** Whether n8n would save the workflow's static data after this poll (its change flag). */
	changed: boolean;
	/** The static data as n8n saves it to its database: the next poll starts from this copy. */
	staticData: IDataObject;
}

/**
 * One poll of a polling trigger of the flow, as an active workflow runs it: n8n-core's
 * PollTriggerExecutor over a PollContext, on a Workflow loaded with `flow.staticData` (as after a
 * restart). `manual` is the editor's "Fetch Test Event".
 */
export async function pollOnce(flow: Flow, node: string, mode: 'trigger' | 'manual' = 'trigger'): Promise<Poll> {
	const workflow = buildWorkflow(flow);
	const target = workflow.getNode(node)!;
	const data = additionalData(flow, workflow, mode, `ex-poll-${++executions}`);
	let emitted: INodeExecutionData[] | null = null;
	let failure: Error | undefined;
	const context = new PollContext(
		workflow,
		target,
		data,
		mode,
		'activate',
		(output) => {
			emitted = output[0];
		},
		(error) => {
			failure = error;
		},
	);
	await Container.get(PollTriggerExecutor).create(workflow, target, context, () => true)(mode === 'manual');
	if (failure) throw failure;
	// The change flag n8n's saveStaticData reads; not enumerable, so the saved copy leaves it out.
	const changed = (workflow.staticData as { __dataChanged?: boolean }).__dataChanged === true;
	return { emitted, changed, staticData: JSON.parse(JSON.stringify(workflow.staticData)) as IDataObject };
}
