// Redis test isolation: a key prefix per test file, and removal of everything under it.
import { randomUUID } from 'crypto';
import Redis from 'ioredis';

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
