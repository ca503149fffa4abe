// Turns the node's `store` parameter and its credential into a pooled store from the registry.

import { NodeOperationError, type FunctionsBase, type ICredentialDataDecryptedObject, type IExecuteFunctions } from 'n8n-workflow';
import { assertNotQueueMode, defaultDataDir } from '../store/embedded/EmbeddedStore';
import { InvalidInputError } from '../store/errors';
import { nodeError } from './errors';
import { storeFor, type StoreConfig } from '../store/registry';
import type { IdempotencyStore } from '../store/types';

export type StoreKind = 'postgres' | 'redis' | 'embedded';

export function postgresConfig(data: ICredentialDataDecryptedObject): StoreConfig {
	return {
		kind: 'postgres',
		config: {
			host: String(data.host ?? 'localhost'),
			port: Number(data.port ?? 5432),
			database: String(data.database ?? 'postgres'),
			user: String(data.user ?? 'postgres'),
			password: data.password ? String(data.password) : undefined,
			ssl: (data.ssl as 'disable' | 'require' | 'verify-full') ?? 'disable',
			schema: String(data.schema ?? 'n8n_idempotency'),
			maxConnections: Number(data.maxConnections ?? 10),
		},
	};
}

export function redisConfig(data: ICredentialDataDecryptedObject): StoreConfig {
	return {
		kind: 'redis',
		config: {
			host: String(data.host ?? 'localhost'),
			port: Number(data.port ?? 6379),
			username: data.username ? String(data.username) : undefined,
			password: data.password ? String(data.password) : undefined,
			database: Number(data.database ?? 0),
			tls: data.tls === true,
			keyPrefix: data.keyPrefix === undefined ? 'idem:' : String(data.keyPrefix),
			mode: data.mode === 'cluster' ? 'cluster' : 'standalone',
			clusterNodes: data.clusterNodes ? String(data.clusterNodes) : undefined,
			allowEviction: data.allowEviction === true,
		},
	};
}

const CREDENTIALS = {
	postgres: { type: 'idempotencyPostgresApi', label: 'Idempotency Store (Postgres)', store: 'Postgres' },
	redis: { type: 'idempotencyRedisApi', label: 'Idempotency Store (Redis)', store: 'Redis' },
} as const;

/**
 * The node's credential for the chosen store, or an error that says which credential to select:
 * none selected (e.g. after switching Store, n8n does not fill the new store's slot), or one
 * that does not exist on this n8n (a workflow imported from elsewhere with its credential ID).
 */
async function storeCredential(ctx: Pick<FunctionsBase, 'getCredentials' | 'getNode'>, kind: 'postgres' | 'redis'): Promise<ICredentialDataDecryptedObject> {
	const { type, label, store } = CREDENTIALS[kind];
	const node = ctx.getNode();
	const fix =
		`Open the node "${node.name}" and select an ${label} credential under "Credential to connect with" ` +
		`(or create one there). Store is set to ${store}; after you switch Store, n8n leaves the new store's credential empty.`;
	const selected = node.credentials?.[type];
	if (!selected || (!selected.id && !selected.name)) {
		throw new NodeOperationError(node, `No ${label} credential is selected`, { description: fix });
	}
	try {
		return await ctx.getCredentials(type);
	} catch (error) {
		const text = String((error as Error)?.message ?? error);
		if (/does not exist|not have any credentials|no credentials|could not find/i.test(text)) {
			throw new NodeOperationError(node, `The selected ${label} credential "${selected.name ?? selected.id}" does not exist on this n8n`, {
				description: fix,
			});
		}
		throw new NodeOperationError(node, `Could not read the ${label} credential: ${text}`, { description: fix });
	}
}

export async function resolveStore(ctx: IExecuteFunctions): Promise<IdempotencyStore> {
	return storeOfKind(ctx, ctx.getNodeParameter('store', 0, 'postgres') as StoreKind);
}

/** The pooled store of a kind, with the node's credential: for nodes without items (the trigger). */
export async function storeOfKind(ctx: Pick<FunctionsBase, 'getCredentials' | 'getNode'>, kind: StoreKind): Promise<IdempotencyStore> {
	if (kind === 'postgres') {
		const data = await storeCredential(ctx, 'postgres');
		return storeFor(postgresConfig(data), ctx.getNode().credentials?.idempotencyPostgresApi?.id ?? undefined);
	}
	if (kind === 'redis') {
		const data = await storeCredential(ctx, 'redis');
		return storeFor(redisConfig(data), ctx.getNode().credentials?.idempotencyRedisApi?.id ?? undefined);
	}
	if (kind === 'embedded') {
		assertNotQueueMode();
		return storeFor({ kind: 'embedded', config: { dataDir: defaultDataDir() } });
	}
	throw new InvalidInputError(`Unknown store "${String(kind)}"`, 'Choose Postgres, Redis or Embedded as the Store.');
}

/**
 * Runs one execution's work against the node's store; a store that cannot be set up, and any
 * error the work does not turn into a NodeOperationError itself, fail the node with `what`.
 */
export async function withStore<T>(ctx: IExecuteFunctions, what: string, work: (store: IdempotencyStore) => Promise<T>): Promise<T> {
	let store: IdempotencyStore;
	try {
		store = await resolveStore(ctx);
	} catch (error) {
		throw nodeError(ctx, error, 'The store is not set up');
	}
	try {
		return await work(store);
	} catch (error) {
		throw nodeError(ctx, error, what);
	}
}
