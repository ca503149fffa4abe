// Reading exceptions on Redis, for getException, listOpenExceptions and the exceptions feed
// (RedisStore.ts): by (namespace, uuid) — per namespace one pipeline for their keys and one for
// the exceptions (keys of one slot), namespaces in parallel —, and open ones from an index.

import type { Cluster, Redis } from 'ioredis';
import { groupBy } from '../../util/lists';
import type { OpenExceptionsQuery } from '../base/BaseStore';
import type { ExceptionRecord } from '../types';
import { toException } from './codec';
import { execPipeline, ScoreOrderReader } from './indexReaders';
import { parseExceptionId, type NamespaceKeys } from './keys';

export type ExceptionRef = { uuid: string; namespace: string } | null;

/** The exceptions the refs name, null where there is none (or the ref is null). */
export async function readExceptions(
	client: Redis | Cluster,
	keysOf: (namespace: string) => NamespaceKeys,
	refs: ExceptionRef[],
): Promise<Array<ExceptionRecord | null>> {
	const found: Array<ExceptionRecord | null> = refs.map(() => null);
	const positions = refs.map((_, i) => i).filter((i) => refs[i] !== null);
	const byNamespace = groupBy(positions, (i) => refs[i]!.namespace);
	await Promise.all(
		[...byNamespace].map(async ([namespace, positions]) => {
			const keys = keysOf(namespace);
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

/**
 * Open exceptions in (firstSeenAt, id) order from an index of open ids: the namespace's own
 * (members are uuids) or the one of every namespace (members are exception ids). That index is
 * written after each script (another slot), so every entry is checked against the namespace's
 * data; `stale` are the members that are resolved or gone.
 */
export async function readOpenExceptions(
	client: Redis | Cluster,
	index: string,
	query: OpenExceptionsQuery,
	read: (refs: ExceptionRef[]) => Promise<Array<ExceptionRecord | null>>,
): Promise<{ found: ExceptionRecord[]; stale: string[] }> {
	const { namespace, owner, reason, limit } = query;
	const reader = new ScoreOrderReader(client, index, query.firstSeenBefore ?? Infinity, null);
	const found: ExceptionRecord[] = [];
	const stale: string[] = [];
	for (;;) {
		const batch = await reader.next(Math.min(500, Math.max(limit + 1, 100)));
		const refs = batch.entries.map((entry) => (namespace === null ? parseExceptionId(entry.key) : { uuid: entry.key, namespace }));
		const exceptions = await read(refs);
		for (let i = 0; i < exceptions.length && found.length < limit; i++) {
			const exception = exceptions[i];
			if (exception === null || exception.status !== 'open') stale.push(batch.entries[i].key);
			else if ((owner === null || exception.owner === owner) && (reason === null || exception.reason === reason)) found.push(exception);
		}
		if (found.length >= limit || batch.done) return { found, stale };
	}
}
