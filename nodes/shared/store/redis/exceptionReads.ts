// Reading exceptions on Redis, for getException, listOpenExceptions and the exceptions feed
// (RedisStore.ts): by (namespace, uuid) — per slot (a namespace's, or one of its buckets' on a
// cluster, buckets.ts) one pipeline for their keys and one for the exceptions, slots in
// parallel —, and open ones from the index of open ids, or merged from the indexes of a
// namespace's buckets.

import type { Cluster, Redis } from 'ioredis';
import { groupBy } from '../../util/lists';
import type { OpenExceptionsQuery } from '../base/BaseStore';
import type { ExceptionRecord } from '../types';
import { toException } from './codec';
import { execPipeline, MergedReader, ScoreOrderReader } from './indexReaders';
import { NamespaceKeys, type ExceptionRef as ParsedRef } from './keys';

export type ExceptionRef = ParsedRef | null;

/** The keys of the slot that holds the exception a ref names: its namespace's, or its bucket's. */
export function keysOfException(prefix: string, ref: ParsedRef): NamespaceKeys {
	return new NamespaceKeys(prefix, ref.namespace, ref.suffix);
}

/** The exceptions the refs name, null where there is none (or the ref is null). */
export async function readExceptions(
	client: Redis | Cluster,
	prefix: string,
	refs: ExceptionRef[],
): Promise<Array<ExceptionRecord | null>> {
	const found: Array<ExceptionRecord | null> = refs.map(() => null);
	const positions = refs.map((_, i) => i).filter((i) => refs[i] !== null);
	const bySlot = groupBy(positions, (i) => keysOfException(prefix, refs[i]!).tag);
	await Promise.all(
		[...bySlot.values()].map(async (positions) => {
			const keys = keysOfException(prefix, refs[positions[0]]!);
			const uuids = positions.map((i) => refs[i]!.uuid);
			const lookup = client.pipeline();
			for (const uuid of uuids) lookup.get(keys.exceptionKey(uuid));
			const exceptionKeys = (await execPipeline(lookup)) as Array<string | null>;
			const read = client.pipeline();
			const wanted: number[] = [];
			exceptionKeys.forEach((key, n) => {
				if (key === null) return;
				read.hget(keys.exceptions(key), uuids[n]);
				wanted.push(n);
			});
			if (wanted.length === 0) return;
			const jsons = (await execPipeline(read)) as Array<string | null>;
			wanted.forEach((n, w) => {
				const json = jsons[w];
				if (json !== null) found[positions[n]] = toException(json);
			});
		}),
	);
	return found;
}

/** An index of open exceptions and what its members name. */
export interface OpenIndex {
	index: string;
	ref: (member: string) => ExceptionRef;
}

/**
 * Open exceptions in (firstSeenAt, id) order from indexes of open ids: the namespace's own, or
 * each of its buckets' merged into one walk (members are uuids), or the one of every namespace
 * (members are exception ids). The index of every namespace is written after each script
 * (another slot), so every entry is checked against the namespace's data; `stale` are the
 * members that are resolved or gone.
 */
export async function readOpenExceptions(
	client: Redis | Cluster,
	indexes: OpenIndex[],
	query: OpenExceptionsQuery,
	read: (refs: ExceptionRef[]) => Promise<Array<ExceptionRecord | null>>,
): Promise<{ found: ExceptionRecord[]; stale: string[] }> {
	const { owner, reason, limit } = query;
	const batchSize =
		indexes.length === 1
			? Math.min(500, Math.max(limit + 1, 100))
			: Math.min(500, Math.max(16, Math.ceil((2 * (limit + 1)) / indexes.length)));
	const walk = new MergedReader(
		indexes.map(({ index }) => new ScoreOrderReader(client, index, query.firstSeenBefore ?? Infinity, null)),
		batchSize,
		(source, entries) => read(entries.map((entry) => indexes[source].ref(entry.key))),
	);
	const found: ExceptionRecord[] = [];
	const stale: string[] = [];
	while (found.length < limit) {
		const next = await walk.next();
		if (next === null) break;
		const exception = next.loaded;
		if (exception === null || exception.status !== 'open') stale.push(next.entry.key);
		else if ((owner === null || exception.owner === owner) && (reason === null || exception.reason === reason)) found.push(exception);
	}
	return { found, stale };
}
