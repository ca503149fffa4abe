// The Idempotency Trigger's feeds on Redis: stuck claims from each namespace's lease index,
// exceptions from each namespace's lastSeenAt index (on a cluster, each bucket's: buckets.ts),
// merged across namespaces and buckets in the order the
// Postgres adapter uses — (time, then the tie-breaker as UTF-8 bytes) —, so a FeedPosition means
// the same on both. Which namespaces exist comes from the registry set (keys.ts); the namespaces
// of data written before the registry are adopted once per store by a SCAN of lease indexes.

import { Cluster, type Redis } from 'ioredis';
import { compareTie, isAfter } from '../feedOrder';
import type { ExceptionRecord, FeedQuery, KeyRecord } from '../types';
import { toRecord } from './codec';
import type { ExceptionRef } from './exceptionReads';
import { execPipeline } from './indexReaders';
import { exceptionId, NamespaceKeys, namespaceOfTag, namespacesEverywhere } from './keys';

/** One index entry: its namespace, member and score, with what the entry stands for once read. */
export interface FeedEntry<T> {
	namespace: string;
	member: string;
	at: number;
	/** The tie-breaker after `at`: [namespace, key] or [exception id]. */
	tie: string[];
	event: T | null;
}

const BATCH = 200;

/**
 * Reads one namespace's index from the query's position: up to limit + 1 entries that are events
 * (`load` says which; it returns null for entries that no longer are, e.g. a resolved exception).
 */
export async function readIndex<T>(
	client: Redis | Cluster,
	index: string,
	namespace: string,
	query: FeedQuery,
	limit: number,
	tieOf: (member: string) => string[],
	load: (entries: Array<FeedEntry<T>>) => Promise<void>,
): Promise<Array<FeedEntry<T>>> {
	const found: Array<FeedEntry<T>> = [];
	// Keyset paging from the last entry read, not offsets: an entry that leaves the range between
	// two batches (a claim settled, an exception seen again) must not shift an unread one past us.
	let position = query.from;
	let skip = 0;
	for (;;) {
		const min = position.after === null ? `(${position.at}` : String(position.at);
		const flat = await client.zrangebyscore(index, min, query.until, 'WITHSCORES', 'LIMIT', skip, BATCH);
		const entries: Array<FeedEntry<T>> = [];
		for (let i = 0; i + 1 < flat.length; i += 2) {
			const entry: FeedEntry<T> = { namespace, member: flat[i], at: Number(flat[i + 1]), tie: tieOf(flat[i]), event: null };
			if (isAfter(position, entry.at, entry.tie)) entries.push(entry);
		}
		await load(entries);
		found.push(...entries.filter((entry) => entry.event !== null));
		if (found.length > limit || flat.length / 2 < BATCH) return found;
		if (entries.length === 0) {
			// a whole batch of ties at the position's own time, all read already: step over them
			skip += BATCH;
			continue;
		}
		const last = entries.reduce((a, b) => (b.at - a.at || compareTie(b.tie, a.tie)) > 0 ? b : a);
		position = { at: last.at, after: last.tie };
		skip = 0;
	}
}

/** Every namespace's events merged in feed order, the first limit + 1 (BaseStore builds the page). */
export function mergeEvents<T>(perNamespace: Array<Array<FeedEntry<T>>>, limit: number): T[] {
	const all = perNamespace.flat().sort((a, b) => a.at - b.at || compareTie(a.tie, b.tie));
	return all.slice(0, limit + 1).map((entry) => entry.event as T);
}

/** The namespaces the feed reads: the one asked for, or every registered one. */
export async function feedNamespaces(client: Redis | Cluster, prefix: string, namespace: string | null): Promise<string[]> {
	if (namespace !== null) return [namespace];
	return client.smembers(namespacesEverywhere(prefix));
}

/** Registers the namespaces of every lease index under the prefix (data from before the registry). */
export async function adoptNamespaces(client: Redis | Cluster, prefix: string): Promise<void> {
	const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}:i:lease`;
	const suffix = '}:i:lease';
	const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client as Redis];
	const found = new Set<string>();
	for (const node of nodes) {
		let cursor = '0';
		do {
			const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
			cursor = next;
			for (const key of keys) {
				if (!key.startsWith(`${prefix}{`) || !key.endsWith(suffix)) continue;
				const namespace = namespaceOfTag(key.slice(prefix.length + 1, key.length - suffix.length));
				if (namespace !== null && new NamespaceKeys(prefix, namespace).leaseIndex === key) found.add(namespace);
			}
		} while (cursor !== '0');
	}
	if (found.size > 0) await client.sadd(namespacesEverywhere(prefix), ...found);
}

/** The stuck claims of one slot's lease index (a namespace's, or one of its buckets'). */
export function readStuckIndex(client: Redis | Cluster, keys: NamespaceKeys, namespace: string, query: FeedQuery): Promise<Array<FeedEntry<KeyRecord>>> {
	return readIndex<KeyRecord>(client, keys.leaseIndex, namespace, query, query.limit, (key) => [namespace, key], async (entries) => {
		if (entries.length === 0) return;
		const pipeline = client.pipeline();
		for (const entry of entries) pipeline.hgetall(keys.record(entry.member));
		const hashes = await execPipeline(pipeline);
		entries.forEach((entry, i) => {
			const record = toRecord(namespace, entry.member, hashes[i] as Record<string, string>);
			if (record?.state === 'processing' && record.leaseUntil === entry.at) entry.event = record;
		});
	});
}

/** The exceptions seen of one slot's feed index (a namespace's, or one of its buckets'). */
export async function readSeenIndex(
	client: Redis | Cluster,
	keys: NamespaceKeys,
	namespace: string,
	query: FeedQuery,
	read: (refs: ExceptionRef[]) => Promise<Array<ExceptionRecord | null>>,
): Promise<Array<FeedEntry<ExceptionRecord>>> {
	const done: string[] = [];
	const found = await readIndex<ExceptionRecord>(client, keys.seenExceptionsIndex, namespace, query, query.limit, (uuid) => [exceptionId(uuid, keys)], async (entries) => {
		if (entries.length === 0) return;
		const exceptions = await read(entries.map((entry) => ({ uuid: entry.member, namespace, suffix: keys.suffix })));
		entries.forEach((entry, i) => {
			const exception = exceptions[i];
			if (exception?.status === 'open' && exception.lastSeenAt === entry.at) entry.event = exception;
			else if (exception === null || exception.status === 'resolved') done.push(entry.member);
		});
	});
	// A resolved exception never opens again (a repeat opens a new one): it leaves the feed,
	// after the read, so that the read's offsets stay right.
	if (done.length > 0) await client.zrem(keys.seenExceptionsIndex, ...done);
	return found;
}
