// The store kinds, one row each: what the node's Store parameter shows, how a node gets the kind's
// config (from its credential, with the checks the credential's Test button adds, or a default),
// and how the store is opened. The kinds themselves are declared in the contract (types.ts
// STORE_KINDS); the type of BACKENDS requires one row per kind and no other. The Store parameter,
// the credential slots and tests, the registry and resolveStore all read this table: a new store
// is one class plus one row here.

import { assertNotQueueMode, createEmbeddedStore, defaultDataDir } from './embedded/EmbeddedStore';
import { PostgresStore, type PostgresStoreConfig } from './postgres/PostgresStore';
import { RedisStore, type RedisStoreConfig } from './redis/RedisStore';
import { STORE_KINDS, type IdempotencyStore, type StoreKind } from './types';

/** A credential's decrypted fields, as n8n hands them over. */
export type CredentialData = Record<string, unknown>;

/** One more thing a credential's Test button checks once the store answers: a warning text, or undefined when fine. */
export type WarningCheck = (store: IdempotencyStore) => Promise<string | undefined>;

export interface StoreCredential<Config> {
	/** The credential type's name (as in package.json and each node class's credential slot). */
	type: string;
	label: string;
	/** The credential's fields as the store's config. */
	fromData: (data: CredentialData) => Config;
	/** Checks the Test button runs after a successful login, besides the store's own health warning. */
	warningChecks: readonly WarningCheck[];
}

/** How a node gets a kind's config: from the credential it connects with, or the kind's default. */
type Connection<Config> =
	| { credential: StoreCredential<Config>; defaultConfig?: undefined }
	| {
			credential: null;
			/** The config every node opens; called on each use, so it may refuse (e.g. embedded in queue mode). */
			defaultConfig: () => Config;
	  };

export type Backend<Config> = Connection<Config> & {
	/** The option's name in the Store parameter. */
	label: string;
	/** The option's description in the Store parameter. */
	description: string;
	/** Opens a store; `test` = a short-lived one for the credential's Test button. */
	open(config: Config, purpose?: 'pool' | 'test'): IdempotencyStore;
};

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
	credential: { type: 'idempotencyPostgresApi', label: 'Idempotency Store (Postgres)', fromData: postgresFromCredential, warningChecks: [] },
	open: (config, purpose): IdempotencyStore => new PostgresStore(purpose === 'test' ? { ...config, maxConnections: 1 } : config),
} satisfies Backend<PostgresStoreConfig>;

const redis = {
	label: 'Redis',
	description: 'Fastest; enable AOF persistence so a Redis restart does not forget claims',
	credential: { type: 'idempotencyRedisApi', label: 'Idempotency Store (Redis)', fromData: redisFromCredential, warningChecks: [] },
	open: (config): IdempotencyStore => new RedisStore(config),
} satisfies Backend<RedisStoreConfig>;

const embedded = {
	label: 'Embedded (Single Instance)',
	description:
		'Zero setup: Postgres (PGlite) in a folder under the n8n user folder. One n8n instance only — not in queue mode.',
	credential: null,
	// Checked on every use, not only when the pooled store is first opened.
	defaultConfig: () => {
		assertNotQueueMode();
		return { dataDir: defaultDataDir() };
	},
	// One PGlite per data folder per process: the folder cannot be opened twice (see registry.ts).
	open: (config): IdempotencyStore => createEmbeddedStore(config.dataDir),
} satisfies Backend<{ dataDir: string }>;

/** One row per store kind of the contract (STORE_KINDS), and no other. */
export const BACKENDS = { postgres, redis, embedded } as const satisfies { readonly [K in StoreKind]: Backend<unknown> };

export { STORE_KINDS, type StoreKind } from './types';

/** The kinds a node connects to with a credential. */
export type CredentialKind = { [K in StoreKind]: (typeof BACKENDS)[K]['credential'] extends null ? never : K }[StoreKind];
/** The kinds with a credential, in table order: the stores the node tests run against. */
export const CREDENTIAL_KINDS = STORE_KINDS.filter((kind): kind is CredentialKind => BACKENDS[kind].credential !== null);

type ConfigOf<K extends StoreKind> = Parameters<(typeof BACKENDS)[K]['open']>[0];

/** A kind with its config: what the registry pools stores by. */
export type StoreConfig = { [K in StoreKind]: { kind: K; config: ConfigOf<K> } }[StoreKind];

/**
 * The config a node opens `kind` with: its credential's fields as the kind reads them, or — for a
 * kind without credential — its default (which may refuse).
 */
export function storeConfig(kind: StoreKind, credentialData: CredentialData = {}): StoreConfig {
	const backend: Backend<unknown> = BACKENDS[kind];
	const config = backend.credential === null ? backend.defaultConfig() : backend.credential.fromData(credentialData);
	return { kind, config } as StoreConfig;
}

export function isStoreKind(value: unknown): value is StoreKind {
	return typeof value === 'string' && Object.prototype.hasOwnProperty.call(BACKENDS, value);
}

/** Opens the store a config names (the registry's only way to make one). */
export function openStore(config: StoreConfig, purpose: 'pool' | 'test' = 'pool'): IdempotencyStore {
	const backend = BACKENDS[config.kind] as Backend<unknown>;
	return backend.open(config.config, purpose);
}
