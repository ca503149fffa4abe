// Opens the ioredis client for an Idempotency Store (Redis) credential and says, in words a user
// can act on, what went wrong when Redis cannot be used. The client connects on first use and
// gives up on a call within a few seconds when Redis is down, instead of queueing it forever.
// What a failed call means is errors.ts.

import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { InvalidInputError } from '../errors';

export interface RedisStoreConfig {
	host: string;
	port: number;
	username?: string;
	password?: string;
	database: number;
	tls: boolean;
	/** Prepended to every key; default `idem:`. */
	keyPrefix: string;
	mode: 'standalone' | 'cluster';
	/** Cluster mode: comma-separated `host:port` seed nodes; empty = host and port. */
	clusterNodes?: string;
	/** Claim even though Redis may evict keys (maxmemory-policy other than noeviction); default false. */
	allowEviction?: boolean;
	/** Claim even though Redis keeps nothing on disk (durability.ts); default false. */
	allowNoPersistence?: boolean;
	/** The durability warnings (loss on a crash or failover) are accepted; default false. */
	acceptCrashLoss?: boolean;
	/** Refuse claims unless AOF is on; default false. */
	requireDurability?: boolean;
	/** Replicas each write waits for (replication.ts): `auto` (default) = one when the primary has replicas. */
	waitForReplicas?: 'auto' | 'none' | number;
	/** How long a write waits for its replicas, ms; default 1000. */
	replicaTimeoutMs?: number;
	/** How long a call may take before it counts as timed out, ms; default 15000 (tests set less). */
	commandTimeoutMs?: number;
}

export const DEFAULT_REPLICA_TIMEOUT_MS = 1_000;
/** A WAIT must end well before the command timeout would cut its connection. */
export const MAX_REPLICA_TIMEOUT_MS = 10_000;

const CONNECT_TIMEOUT_MS = 2_500;
// A claim of 1000 keys takes milliseconds; a reply this late means Redis is blocked or the
// connection is gone (errors.ts says "timed out").
export const COMMAND_TIMEOUT_MS = 15_000;

function connectionOptions(config: RedisStoreConfig): RedisOptions {
	return {
		username: config.username || undefined,
		password: config.password || undefined,
		tls: config.tls ? {} : undefined,
		connectTimeout: CONNECT_TIMEOUT_MS,
		commandTimeout: config.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
		// One reconnect attempt per call: a call against a Redis that is down fails in seconds.
		maxRetriesPerRequest: 1,
		connectionName: 'n8n-nodes-idempotency',
		keepAlive: 30_000,
		// How long close() waits for a socket to end before destroying it (ioredis keeps a timer).
		disconnectTimeout: 500,
	};
}

export function parseClusterNodes(
	config: Pick<RedisStoreConfig, 'host' | 'port' | 'clusterNodes'>,
): Array<{ host: string; port: number }> {
	const listed = (config.clusterNodes ?? '')
		.split(',')
		.map((entry) => entry.trim())
		.filter((entry) => entry.length > 0);
	if (listed.length === 0) return [{ host: config.host, port: config.port }];
	return listed.map((entry) => {
		const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(entry);
		const port = match?.[2] ? Number(match[2]) : 6379;
		if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
			throw new InvalidInputError(
				`Cluster node "${entry}" is not a host:port pair`,
				'List the cluster nodes as host:port, separated by commas, e.g. redis-1:6379, redis-2:6379.',
			);
		}
		return { host: match[1], port };
	});
}

export function createClient(config: RedisStoreConfig): Redis | Cluster {
	if (config.mode === 'cluster') {
		if (config.database && config.database !== 0) {
			throw new InvalidInputError(
				`Redis Cluster has only database 0, but database ${config.database} is set`,
				'Set Database to 0 in the Idempotency Store (Redis) credential, or use standalone mode.',
			);
		}
		return new Cluster(parseClusterNodes(config), {
			lazyConnect: true,
			enableOfflineQueue: true,
			slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
			clusterRetryStrategy: (times) => (times > 2 ? null : 200 * times),
			redisOptions: connectionOptions(config),
		});
	}
	return new Redis({
		...connectionOptions(config),
		host: config.host,
		port: config.port,
		db: config.database || 0,
		lazyConnect: true,
		// Calls made while the first connection is being set up wait for it (bounded above).
		enableOfflineQueue: true,
		retryStrategy: (times) => Math.min(times * 200, 1_000),
	});
}

export function describeTarget(config: RedisStoreConfig): string {
	if (config.mode === 'cluster') {
		try {
			return `the Redis Cluster at ${parseClusterNodes(config)
				.map((node) => `${node.host}:${node.port}`)
				.join(', ')}`;
		} catch {
			return `the Redis Cluster at ${config.clusterNodes}`;
		}
	}
	return `Redis at ${config.host}:${config.port}`;
}
