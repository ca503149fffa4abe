// The reads and the purge of RedisStore that go over every slot of a namespace: its one slot, or
// each of its buckets on a cluster (buckets.ts), in parallel, merged into one walk or summed.

import type { Cluster, Redis } from 'ioredis';
import type { EventTally, IndexPage, IndexQuery } from '../base/BaseStore';
import type { KeyRecord, PurgeResult } from '../types';
import type { ListCursor } from './codec';
import { KeyOrderReader, scanRecords, ScoreOrderReader } from './indexReaders';
import type { NamespaceKeys } from './keys';
import { sumTallies, toEventTally } from './replies';
import type { ScriptRunner } from './scripts';

const HOUR_MS = 3_600_000;
const PURGE_BATCH = 500;
const FORGET_BATCH = 1000;

const hourOf = (time: number) => Math.floor(time / HOUR_MS) * HOUR_MS;

/**
 * One page of an index: key order, updatedAt for a state, leaseUntil for stuck claims; one reader
 * per bucket, merged into one walk. The cursor is exact in each (a key is in one bucket only, so
 * "after (score, key)" means the same in all). Records that are gone or past retention are
 * skipped; index entries of records Redis has expired are dropped on the way (lua/forget.lua).
 */
export async function pageBuckets(
	client: Redis | Cluster,
	forget: ScriptRunner,
	buckets: NamespaceKeys[],
	namespace: string,
	query: IndexQuery,
): Promise<IndexPage> {
	const { at, state, updatedBefore, limit } = query;
	const cursor: ListCursor | null = query.after && { score: query.after.at, key: query.after.key };
	const readers = buckets.map((keys) =>
		query.order === 'stuck'
			? new ScoreOrderReader(client, keys.leaseIndex, at, cursor)
			: query.order === 'state'
				? new ScoreOrderReader(client, keys.stateIndex(state!), updatedBefore ?? Infinity, cursor)
				: new KeyOrderReader(client, keys.keysIndex, cursor),
	);
	const wanted = (record: KeyRecord): boolean =>
		!(record.expiresAt !== null && record.expiresAt <= at) &&
		(state === null || record.state === state) &&
		(query.order !== 'stuck' || (record.state === 'processing' && record.leaseUntil !== null && record.leaseUntil <= at)) &&
		(updatedBefore === null || record.updatedAt <= updatedBefore);

	const { found, gone, lastScanned, exhausted } = await scanRecords(client, readers, (bucket, key) => buckets[bucket].record(key), namespace, wanted, limit, cursor);
	await Promise.all(
		buckets.map(async (keys, bucket) => {
			for (let i = 0; i < gone[bucket].length; i += FORGET_BATCH) {
				const batch = gone[bucket].slice(i, i + FORGET_BATCH);
				await forget([...keys.scriptKeys, ...batch.map((key) => keys.record(key))], batch);
			}
		}),
	);
	const stop = found.length > limit ? found[limit - 1].at : !exhausted ? lastScanned : null;
	return { records: found.slice(0, limit).map((entry) => entry.record), next: stop && { at: stop.score, key: stop.key } };
}

/** Sums the hourly counters of the hours that overlap [since, until], one stats script per bucket. */
export async function countBuckets(stats: ScriptRunner, buckets: NamespaceKeys[], since: number, until: number): Promise<EventTally> {
	const replies = await Promise.all(buckets.map((keys) => stats(keys.scriptKeys, [hourOf(since), hourOf(until)])));
	return sumTallies(replies.map((reply) => toEventTally(reply as Array<string | number>)));
}

/** Forgets records past retention with their history, in batches of each bucket's expiry index. */
export async function purgeBuckets(client: Redis | Cluster, purge: ScriptRunner, buckets: NamespaceKeys[], at: number): Promise<PurgeResult> {
	const purged: PurgeResult = { records: 0, history: 0 };
	await Promise.all(
		buckets.map(async (keys) => {
			for (;;) {
				const batch = await client.zrangebyscore(keys.expiryIndex, '-inf', at, 'LIMIT', 0, PURGE_BATCH);
				if (batch.length === 0) return;
				const scriptKeys = [...keys.scriptKeys];
				for (const key of batch) scriptKeys.push(keys.record(key), keys.history(key));
				// Every candidate leaves the range [-inf, at]: deleted, or re-scored to its later expiry.
				const [records, history] = (await purge(scriptKeys, [at, ...batch])) as [number, number];
				purged.records += Number(records);
				purged.history += Number(history);
			}
		}),
	);
	return purged;
}
