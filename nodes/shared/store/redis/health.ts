// What the Redis credential's Test button and health() report beyond "it answers": that Redis
// keeps nothing on disk (every claim is forgotten on a restart).

import type { Cluster, Redis } from 'ioredis';

/** A warning when persistence is off, undefined when it is on or cannot be read. */
export async function persistenceWarning(client: Redis | Cluster): Promise<string | undefined> {
	try {
		const appendonly = (await client.config('GET', 'appendonly')) as unknown as string[];
		const save = (await client.config('GET', 'save')) as unknown as string[];
		if (appendonly[1] === 'no' && (save[1] ?? '') === '') {
			return (
				'Redis persistence is off (appendonly no, no save points): after a Redis restart every key ' +
				'counts as new again. Turn on AOF (appendonly yes) or RDB snapshots for idempotency that ' +
				'survives restarts.'
			);
		}
	} catch {
		// CONFIG is disabled or not allowed for this user (managed Redis): persistence is unknown.
	}
	return undefined;
}
