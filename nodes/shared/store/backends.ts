// The store kinds, one row each: what the node's Store parameter shows, which credential the kind
// uses (and how its fields become the store's config), and how the store is opened. The Store
// parameter, the credential tests, the registry, resolveStore and the `kind` type all read this
// table: a new store is one class plus one row here.

import { createEmbeddedStore } from './embedded/EmbeddedStore';
import { PostgresStore, type PostgresStoreConfig } from './postgres/PostgresStore';
import { RedisStore, type RedisStoreConfig } from './redis/RedisStore';
import type { IdempotencyStore } from './types';

/** A credential's decrypted fields, as n8n hands them over. */
export type CredentialData = Record<string, unknown>;

export interface Backend<Config> {
	/** The option's name in the Store parameter. */
	label: string;
	/** The option's description in the Store parameter. */
	description: string;
	/** The credential this kind connects with; null when it needs none. */
	credential: { type: string; label: string; fromData: (data: CredentialData) => Config } | null;
	/** Opens a store; `test` = a short-lived one for the credential's Test button. */
	open: (config: Config, purpose?: 'pool' | 'test') => IdempotencyStore;
}

const text = (value: unknown, fallback: string): string => (value === undefined || value === null ? fallback : String(value));
const optionalText = (value: unknown): string | undefined => (value ? String(value) : undefined);

function postgresFromCredential(data: CredentialData): PostgresStoreConfig {
	return {
		host: text(data.host, 'localhost'),
		port: Number(data.port ?? 5432),
		database: text(data.database, 'postgres'),
		user: text(data.user, 'postgres'),
		password: optionalText(data.password),
		ssl: (data.ssl as PostgresStoreConfig['ssl']) ?? 'disable',
		schema: text(data.schema, 'n8n_idempotency'),
		maxConnections: Number(data.maxConnections ?? 10),
		requireSynchronousStandby: data.requireSynchronousStandby === true,
	};
}

function redisFromCredential(data: CredentialData): RedisStoreConfig {
	return {
		host: text(data.host, 'localhost'),
		port: Number(data.port ?? 6379),
		username: optionalText(data.username),
		password: optionalText(data.password),
		database: Number(data.database ?? 0),
		tls: data.tls === true,
		keyPrefix: text(data.keyPrefix, 'idem:'),
		mode: data.mode === 'cluster' ? 'cluster' : 'standalone',
		clusterNodes: optionalText(data.clusterNodes),
		allowEviction: data.allowEviction === true,
		allowNoPersistence: data.allowNoPersistence === true,
		acceptCrashLoss: data.acceptCrashLoss === true,
		requireDurability: data.requireDurability === true,
		waitForReplicas: replicaWait(data),
		replicaTimeoutMs: data.replicaTimeout === undefined ? undefined : Number(data.replicaTimeout),
	};
}

/** Wait for Replicas: `auto` (also when the credential predates the field), `none`, or a count. */
function replicaWait(data: CredentialData): RedisStoreConfig['waitForReplicas'] {
	if (data.waitForReplicas === 'none') return 'none';
	if (data.waitForReplicas === 'count') return Math.max(1, Math.floor(Number(data.replicasToWaitFor ?? 1)) || 1);
	return 'auto';
}

const postgres = {
	label: 'Postgres',
	description: 'Durable, with full history; good default when n8n already runs on Postgres',
	credential: { type: 'idempotencyPostgresApi', label: 'Idempotency Store (Postgres)', fromData: postgresFromCredential },
	open: (config, purpose): IdempotencyStore => new PostgresStore(purpose === 'test' ? { ...config, maxConnections: 1 } : config),
} satisfies Backend<PostgresStoreConfig>;

const redis = {
	label: 'Redis',
	description: 'Fastest; enable AOF persistence so a Redis restart does not forget claims',
	credential: { type: 'idempotencyRedisApi', label: 'Idempotency Store (Redis)', fromData: redisFromCredential },
	open: (config): IdempotencyStore => new RedisStore(config),
} satisfies Backend<RedisStoreConfig>;

const embedded = {
	label: 'Embedded (Single Instance)',
	description:
		'Zero setup: Postgres (PGlite) in a folder under the n8n user folder. One n8n instance only — not in queue mode.',
	credential: null,
	// One PGlite per data folder per process: the folder cannot be opened twice (see registry.ts).
	open: (config): IdempotencyStore => createEmbeddedStore(config.dataDir),
} satisfies Backend<{ dataDir: string }>;

/** Every store kind, in the order the Store parameter lists them. */
export const BACKENDS = { postgres, redis, embedded } as const;

export type StoreKind = keyof typeof BACKENDS;
export const STORE_KINDS = Object.keys(BACKENDS) as StoreKind[];

type ConfigOf<K extends StoreKind> = Parameters<(typeof BACKENDS)[K]['open']>[0];

/** A kind with its config: what the registry pools stores by. */
export type StoreConfig = { [K in StoreKind]: { kind: K; config: ConfigOf<K> } }[StoreKind];

export function isStoreKind(value: unknown): value is StoreKind {
	return typeof value === 'string' && Object.prototype.hasOwnProperty.call(BACKENDS, value);
}

/** Opens the store a config names (the registry's only way to make one). */
export function openStore(config: StoreConfig, purpose: 'pool' | 'test' = 'pool'): IdempotencyStore {
	const backend = BACKENDS[config.kind] as Backend<unknown>;
	return backend.open(config.config, purpose);
}
