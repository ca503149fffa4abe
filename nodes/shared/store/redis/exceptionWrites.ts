// Recording exceptions on Redis (RedisStore.recordExceptionChunk): one record_exceptions.lua call
// per slot — the namespace's, or each of its buckets' on a cluster (buckets.ts) —, and, when the
// chunk failed in another bucket, one unrecord_exceptions.lua call per slot that answered, which
// takes back what its call did, so that a retry of the item does not count the occurrences twice.

import { randomUUID } from 'crypto';
import type { DistinctException } from '../exceptions';
import type { ExceptionGrouping, ExceptionRecord } from '../types';
import { toException } from './codec';
import { exceptionId, type NamespaceKeys } from './keys';
import type { ScriptArg, ScriptRunner } from './scripts';

/** One request's exception as the call left it, with its JSON before the call (null: the call opened it). */
export interface RecordedException {
	exception: ExceptionRecord;
	json: string;
	before: string | null;
}

/** Records the entries of one slot; `head` is the script's first arguments (now, namespace, actor). */
export async function recordInSlot(
	run: ScriptRunner,
	keys: NamespaceKeys,
	head: ScriptArg[],
	grouping: ExceptionGrouping,
	entries: DistinctException[],
): Promise<RecordedException[]> {
	const scriptKeys = [...keys.scriptKeys];
	const args: ScriptArg[] = [...head];
	for (const { request, occurrences, reasons } of entries) {
		const uuid = randomUUID();
		scriptKeys.push(keys.exceptions(request.key), keys.openExceptions(request.key), keys.exceptionKey(uuid));
		args.push(request.key, request.reason, request.owner, request.severity, request.route, occurrences, exceptionId(uuid, keys), grouping, JSON.stringify(reasons));
	}
	scriptKeys.push(keys.seenExceptionsIndex);
	const replies = (await run(scriptKeys, args)) as Array<[string, string | null | undefined]>;
	return replies.map(([json, before]) => ({ exception: toException(json), json, before: before ?? null }));
}

/** Takes back what recordInSlot did for these entries (lua/unrecord_exceptions.lua). */
export async function unrecordInSlot(
	run: ScriptRunner,
	keys: NamespaceKeys,
	grouping: ExceptionGrouping,
	entries: DistinctException[],
	recorded: RecordedException[],
): Promise<void> {
	if (entries.length === 0) return;
	const scriptKeys = [...keys.scriptKeys];
	const args: ScriptArg[] = [];
	entries.forEach(({ request, occurrences }, i) => {
		const { exception, json, before } = recorded[i];
		const uuid = exception.id.slice(0, 36); // an id is `<uuid>.<tag>` (keys.ts)
		scriptKeys.push(keys.exceptions(request.key), keys.openExceptions(request.key), keys.exceptionKey(uuid));
		args.push(uuid, grouping === 'key' ? '' : request.reason, json, before ?? '', occurrences);
	});
	scriptKeys.push(keys.seenExceptionsIndex);
	await run(scriptKeys, args);
}
