// Redis test isolation: a key prefix per test file, and removal of everything under it.
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { createRedisStore, type RedisStore } from '../../nodes/shared/store/redis/RedisStore';
import { defineScripts } from '../../nodes/shared/store/redis/scripts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label: string): string {
	return `test:${label}:${randomUUID().slice(0, 8)}:`;
}

export async function deletePrefix(prefix: string): Promise<void> {
	const redis = new Redis(REDIS_URL, { lazyConnect: true });
	await redis.connect();
	try {
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
			cursor = next;
			if (keys.length) await redis.del(...keys);
		} while (cursor !== '0');
	} finally {
		await redis.quit();
	}
}

/**
 * For tests that call the store's Lua scripts directly beside the store: a store and a raw client
 * with the scripts defined, on the local Redis under a prefix of their own, connected before the
 * describe's tests and closed (the prefix emptied) after them. Call it inside a `describe`.
 */
export function scriptsBesideStore(label: string): { prefix: string; client: Redis; scripts: ReturnType<typeof defineScripts>; store: RedisStore } {
	const prefix = uniquePrefix(label);
	const url = new URL(REDIS_URL);
	const host = url.hostname;
	const port = Number(url.port || 6379);
	const client = new Redis({ host, port, lazyConnect: true });
	const scripts = defineScripts(client);
	const store = createRedisStore({ host, port, database: 0, tls: false, keyPrefix: prefix, mode: 'standalone', allowNoPersistence: true });
	beforeAll(async () => {
		await client.connect();
	});
	afterAll(async () => {
		await store.close();
		await client.quit();
		await deletePrefix(prefix);
	});
	return { prefix, client, scripts, store };
}
