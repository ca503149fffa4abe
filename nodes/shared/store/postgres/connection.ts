// The pg pool for an Idempotency Store (Postgres) credential, and how errors name the server.

import type { PoolConfig } from 'pg';

export interface PostgresStoreConfig {
	host: string;
	port: number;
	database: string;
	user: string;
	password?: string;
	ssl: 'disable' | 'require' | 'verify-full';
	schema: string;
	maxConnections: number;
	/**
	 * Claims only while a failover cannot lose an acknowledged write: a synchronous standby confirms
	 * every commit (synchronous_standby_names set; the store's sessions commit with
	 * synchronous_commit on). Otherwise claims are refused (postgres/durability.ts).
	 */
	requireSynchronousStandby?: boolean;
	/** Overrides host/port/database/user/password (tests, POSTGRES_URL). */
	connectionString?: string;
}

export function poolConfigOf(config: PostgresStoreConfig): PoolConfig {
	const poolConfig: PoolConfig = config.connectionString
		? { connectionString: config.connectionString }
		: {
				host: config.host,
				port: config.port,
				database: config.database,
				user: config.user,
				password: config.password || undefined,
			};
	if (config.ssl === 'require') poolConfig.ssl = { rejectUnauthorized: false };
	if (config.ssl === 'verify-full') poolConfig.ssl = { rejectUnauthorized: true };
	poolConfig.max = Math.max(1, Math.floor(config.maxConnections || 10));
	poolConfig.connectionTimeoutMillis = 10_000;
	poolConfig.idleTimeoutMillis = 30_000;
	poolConfig.application_name = 'n8n-nodes-idempotency';
	// No statement of the store runs long enough to pay back a JIT compilation; a bad row estimate
	// must not make one compile on every call (see BENCHMARKS.md).
	poolConfig.options = '-c jit=off';
	return poolConfig;
}

/** "host:port" of the server, for error messages (never the password of a URL). */
export function describeServer(config: PostgresStoreConfig): string {
	if (!config.connectionString) return `${config.host}:${config.port}`;
	try {
		const parsed = new URL(config.connectionString);
		return `${parsed.hostname}:${parsed.port || 5432}`;
	} catch {
		return 'the configured address';
	}
}
