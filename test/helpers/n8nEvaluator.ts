// getNodeParameter as n8n-core's NodeExecutionContext does it, on n8n-workflow's real expression
// engines (legacy; QuickJS, sandboxed like n8n's default and runnable on Node 20; under Node 24
// also `vm`, the isolated-vm engine n8n 2.x runs by default): raw value with the
// fallback → Workflow.expression.getParameterValue → cleanupParameterData (Luxon DateTime →
// string). n8n-core's validateValueAgainstSchema only acts on properties with validateType,
// resource mappers and collections of such; our nodes have none (parameters.test.ts checks).

import {
	createRunExecutionData,
	Expression,
	Workflow,
	type INode,
	type INodeExecutionData,
	type INodeProperties,
	type INodeTypes,
	type IWorkflowDataProxyAdditionalKeys,
} from 'n8n-workflow';
import { readPath } from '../../nodes/shared/engine/keys';

export type Engine = 'legacy' | 'quickjs' | 'vm';

/** n8n's engines this Node can run: `vm` (isolated-vm, n8n 2.x's default) needs Node 24. */
export const ENGINES: Engine[] = ['legacy', 'quickjs', ...(Number(process.versions.node.split('.')[0]) >= 24 ? (['vm'] as const) : [])];

export async function useEngine(engine: Engine): Promise<void> {
	Expression.setExpressionEngine(engine);
	if (engine === 'legacy') return;
	try {
		await Expression.initExpressionEngine({ engine, bridgeTimeout: 5000, bridgeMemoryLimit: 128, poolSize: 1, maxCodeCacheSize: 1024, idleTimeoutMs: 60_000, sharedCaller: true } as never);
	} catch (error) {
		// n8n-workflow loads the engine by a dynamic import, which jest runs only under that flag.
		if (!/experimental-vm-modules/.test(String(error))) throw error;
		throw new Error(`n8n's ${engine} expression engine needs node --experimental-vm-modules under jest: run \`npm test -- <test file>\``);
	}
}

export async function stopEngine(): Promise<void> {
	await Expression.disposeExpressionEngine();
	Expression.setExpressionEngine('legacy');
}

function cleanupParameterData(data: unknown): void {
	if (typeof data !== 'object' || data === null) return;
	if (Array.isArray(data)) {
		data.forEach(cleanupParameterData);
		return;
	}
	const record = data as Record<string, unknown>;
	for (const key of Object.keys(record)) {
		const value = record[key];
		if (typeof value === 'object') {
			// luxon's DateTime.isDateTime
			if ((value as { isLuxonDateTime?: boolean } | null)?.isLuxonDateTime === true) record[key] = String(value);
			else cleanupParameterData(value);
		}
	}
}

export interface RealNode {
	node: INode;
	workflow: Workflow;
	/** n8n's getNodeParameter for this node over these items; counts its calls. */
	getNodeParameter(name: string, itemIndex: number, fallback?: unknown): unknown;
	calls: number;
	acquire(): Promise<void>;
	release(): Promise<void>;
}

export function realNode(options: {
	parameters: Record<string, unknown>;
	properties: INodeProperties[];
	items: INodeExecutionData[];
	workflowId?: string;
	variables?: Record<string, string>;
}): RealNode {
	const node: INode = {
		id: 'node-1',
		name: 'Dedupe',
		type: 'n8n-nodes-idempotency.test',
		typeVersion: 1,
		position: [0, 0],
		parameters: structuredClone(options.parameters) as INode['parameters'],
	};
	const nodeTypes = {
		getByNameAndVersion: () => ({ description: { properties: options.properties } }),
	} as unknown as INodeTypes;
	const workflow = new Workflow({
		id: options.workflowId ?? 'wf-equivalence',
		name: 'Equivalence',
		nodes: [node],
		connections: {},
		active: false,
		nodeTypes,
		settings: {},
	});
	const runExecutionData = createRunExecutionData({});
	const additionalKeys = {
		$execution: { id: 'ex-77', mode: 'production', resumeUrl: 'http://n8n/webhook-waiting/ex-77', resumeFormUrl: 'http://n8n/form-waiting/ex-77' },
		$vars: options.variables ?? { ns: 'from-vars' },
		$executionId: 'ex-77',
	} as unknown as IWorkflowDataProxyAdditionalKeys;
	const executeData = { node, data: { main: [options.items] }, source: null };
	const self: RealNode = {
		node,
		workflow,
		calls: 0,
		getNodeParameter(name, itemIndex, fallback) {
			self.calls++;
			const value = readPath(node.parameters, name) ?? fallback;
			if (value === undefined) throw new Error(`Could not get parameter "${name}"`);
			const data = workflow.expression.getParameterValue(
				value as never,
				runExecutionData,
				0,
				itemIndex,
				node.name,
				options.items,
				'trigger',
				additionalKeys,
				executeData as never,
				false,
				{},
			);
			cleanupParameterData(data);
			return data;
		},
		// one runtime is shared by all nodes of a test file (sharedCaller), so these are no-ops there
		acquire: async () => {
			await workflow.expression.acquireIsolate();
		},
		release: async () => {
			await workflow.expression.releaseIsolate();
		},
	};
	return self;
}
