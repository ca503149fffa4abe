// A mocked IExecuteFunctions — the only mock the tests use: n8n's function boundary. Parameters
// may be functions of the item index (what n8n's expressions do per item).

import { NodeOperationError, type IExecuteFunctions, type INode, type INodeExecutionData } from 'n8n-workflow';
import { POSTGRES_URL } from './postgres';

export type ParameterValue = unknown | ((itemIndex: number) => unknown);

export interface ContextOptions {
	items: INodeExecutionData[];
	parameters: Record<string, ParameterValue>;
	credentials?: Record<string, Record<string, unknown>>;
	continueOnFail?: boolean;
	nodeName?: string;
	workflowId?: string;
	executionId?: string;
	extra?: Partial<Record<keyof IExecuteFunctions, unknown>>;
}

export function postgresCredential(schema: string): Record<string, unknown> {
	const url = new URL(POSTGRES_URL);
	return {
		host: url.hostname,
		port: Number(url.port || 5432),
		database: url.pathname.replace(/^\//, '') || 'postgres',
		user: decodeURIComponent(url.username || 'postgres'),
		password: decodeURIComponent(url.password || ''),
		ssl: 'disable',
		schema,
		maxConnections: 10,
	};
}

export function redisCredential(keyPrefix: string): Record<string, unknown> {
	const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
	return {
		host: url.hostname,
		port: Number(url.port || 6379),
		username: decodeURIComponent(url.username || ''),
		password: decodeURIComponent(url.password || ''),
		database: Number(url.pathname.replace(/^\//, '') || 0),
		tls: false,
		keyPrefix,
		mode: 'standalone',
		// The test Redis keeps nothing on disk: its claims would be refused without this.
		allowNoPersistence: true,
	};
}

export function mockContext(options: ContextOptions): IExecuteFunctions {
	const node: INode = {
		id: 'node-1',
		name: options.nodeName ?? 'Guard',
		type: 'n8n-nodes-idempotency.idempotencyGuard',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
		credentials: {
			idempotencyPostgresApi: { id: 'cred-pg', name: 'pg' },
			idempotencyRedisApi: { id: 'cred-redis', name: 'redis' },
		},
	};
	const context = {
		getInputData: () => options.items,
		getNode: () => node,
		getWorkflow: () => ({ id: options.workflowId ?? 'wf-1', name: 'Test', active: true }),
		getExecutionId: () => options.executionId ?? 'ex-1',
		continueOnFail: () => options.continueOnFail === true,
		getNodeParameter: (name: string, itemIndex: number, fallback?: unknown) => {
			if (!(name in options.parameters)) return fallback;
			const value = options.parameters[name];
			return typeof value === 'function' ? (value as (i: number) => unknown)(itemIndex) : value;
		},
		getCredentials: async (name: string) => {
			const data = options.credentials?.[name];
			if (!data) throw new NodeOperationError(node, `Node does not have credentials of type ${name}`);
			return data;
		},
		getInstanceBaseUrl: () => 'http://localhost:5678/',
		...options.extra,
	};
	return context as unknown as IExecuteFunctions;
}
