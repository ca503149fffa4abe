// The Redis record and history layout (lua/includes/record.lua): a run of consecutive duplicates
// is one history event with a count (issue 13 item 3), and data written in the layout before it
// (long field names, one JSON object per history event) is still read and correctly updated.
//
// The earlier layout is written by the earlier scripts themselves: the Lua files of the commit
// before the change (the release fixture, test/helpers/releasedStore.ts) are run through this
// RedisStore's marshalling (claim and transition through an adapter of their later, shorter
// arguments and replies), so the data is exactly what a store of that version left.

import { randomUUID } from 'crypto';
import { Redis } from 'ioredis';
import { NamespaceKeys } from '../../../nodes/shared/store/redis/keys';
import { createRedisStore, type RedisStore } from '../../../nodes/shared/store/redis/RedisStore';
import { SCRIPT_NAMES, READ_ONLY_SCRIPTS, requestKey, type ScriptArg, type ScriptName, type ScriptRunner } from '../../../nodes/shared/store/redis/scripts';
import type { Actor, ClaimPolicy, ClaimRequest, HistoryEntry, TransitionRequest } from '../../../nodes/shared/store/types';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../helpers/redis';
import { releasedFile } from '../../helpers/releasedStore';

const T0 = 1_800_000_000_000;
const DAY = 86_400_000;
const policy: ClaimPolicy = {
	leaseMs: 60_000,
	retentionMs: 30 * DAY,
	onInProgress: 'ambiguous',
	onLeaseExpired: 'ambiguous',
	onFailed: 'retry',
	maxAttempts: 3,
	onPayloadMismatch: 'ambiguous',
};
const actor: Actor = { workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' };

const url = new URL(REDIS_URL);
const connection = { host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, mode: 'standalone' as const, allowNoPersistence: true };

function releasedLua(path: string): string {
	return releasedFile(`nodes/shared/store/redis/lua/${path}`);
}

/** The earlier scripts, expanded and wrapped as that commit's scripts.ts did. */
function longLayoutScripts(client: Redis): Record<ScriptName, ScriptRunner> {
	const wrapper = releasedLua('includes/request.lua');
	const runners = {} as Record<ScriptName, ScriptRunner>;
	// layout.lua and unrecord_exceptions.lua came later (buckets.ts) and have no earlier version;
	// a standalone store never runs them. report.lua came later too and only reads;
	// not_replicated.lua came later and runs only when a replica did not confirm a claim.
	const later = ['layout', 'unrecord_exceptions', 'report', 'not_replicated'];
	for (const name of SCRIPT_NAMES.filter((script) => !later.includes(script))) {
		let body = releasedLua(`${name}.lua`).replace(/^--@include "([A-Za-z0-9_.-]+\.lua)"\s*$/gm, (_line, include: string) => releasedLua(`includes/${include}`));
		const writes = !READ_ONLY_SCRIPTS.has(name);
		if (writes) body = wrapper.replace(/^--@body\s*$/m, () => body);
		const command = `long_layout_${name}`;
		client.defineCommand(command, { lua: body });
		const run = (keys: string[], args: ScriptArg[]) => {
			const all = writes ? [...keys, requestKey(keys[0])] : keys;
			return (client as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[command](all.length, ...all, ...args);
		};
		runners[name] = name === 'claim' ? earlierClaim(run) : name === 'transition' ? earlierTransition(run) : run;
	}
	return runners;
}

// The arguments and replies of claim.lua and transition.lua got shorter after that commit; these
// adapters hand the earlier scripts the arguments they took and give this store the replies it reads.
const OUTCOME_CODE: Record<string, string> = { new: 'n', duplicate: 'd', ambiguous: 'a', pending: 'p' };
const REASON_CODE: Record<string, string> = {
	first_seen: 'a', already_processed: 'b', in_progress: 'c', lease_expired: 'd', reclaimed: 'e',
	payload_mismatch: 'f', retry_after_failure: 'g', previously_failed: 'h', max_attempts: 'i',
};
const STATE_CODE: Record<string, string> = { received: 'r', processing: 'c', processed: 'p', failed: 'f' };
const KIND_OF_CODE: Record<string, string> = { P: 'markProcessed', F: 'markFailed', R: 'markReceived', L: 'release' };

function earlierClaim(run: ScriptRunner): ScriptRunner {
	return async (keys, args) => {
		const earlierArgs = args.slice(0, 11);
		for (let i = 11; i < args.length; i += 3) {
			const [, same, other, fingerprint] = /^(?:r(\d+),(\d+),)?(.*)$/s.exec(String(args[i + 2]))!;
			earlierArgs.push(args[i], fingerprint, args[i + 1], Number(same ?? 0), Number(other ?? 0));
		}
		const replies = (await run(keys, earlierArgs)) as unknown[][];
		// The earlier reply has no `now` first: no answer here is the short one that needs it.
		return [null, ...replies.map(([outcome, reason, state, attempt, , firstSeenAt, lastSeenAt, leaseUntil, result, prior]) => [
			OUTCOME_CODE[String(outcome)] + REASON_CODE[String(reason)] + STATE_CODE[String(state)],
			attempt, firstSeenAt, lastSeenAt, leaseUntil, result, prior,
		])];
	};
}

function earlierTransition(run: ScriptRunner): ScriptRunner {
	return (keys, args) => {
		const earlierArgs = args.slice(0, 4);
		for (let i = 4; i < args.length; i += 5) {
			const [key, flags, claimToken, payload, retentionMs] = args.slice(i, i + 5).map(String);
			const kind = KIND_OF_CODE[flags[0]];
			earlierArgs.push(key, kind, claimToken, flags[1], flags[2], kind === 'markProcessed' ? payload : 'n', kind === 'markFailed' ? payload : 'n', retentionMs);
		}
		return run(keys, earlierArgs);
	};
}

const request = (kind: TransitionRequest['kind'], key: string, claimToken: string | null, over: Partial<TransitionRequest> = {}): TransitionRequest => ({
	kind,
	key,
	claimToken,
	verifyClaim: true,
	force: false,
	resultJson: kind === 'markProcessed' ? JSON.stringify({ id: key }) : null,
	errorMessage: kind === 'markFailed' ? 'boom' : null,
	retentionMs: 30 * DAY,
	...over,
});

/** The history as "event" or "event×count" strings, oldest first. */
const shape = (history: HistoryEntry[]) => history.map((h) => (h.count === undefined ? h.event : `${h.event}×${h.count}`));

describe('Redis history: a run of duplicates is one event', () => {
	const prefix = uniquePrefix('layout');
	const admin = new Redis({ host: connection.host, port: connection.port, lazyConnect: true });
	const store = createRedisStore({ ...connection, keyPrefix: prefix });
	const other = createRedisStore({ ...connection, keyPrefix: prefix });
	let ns: string;
	const claim = (key: string, at: number, requests: Partial<ClaimRequest> = {}, by: RedisStore = store) =>
		by.claim(ns, [{ key, fingerprint: null, ...requests }], policy, actor, at).then(([d]) => d);
	const settle = async (key: string, at: number, fingerprint: string | null = null) => {
		const d = await claim(key, at, { fingerprint });
		expect(d.outcome).toBe('new');
		const [result] = await store.transition(ns, [request('markProcessed', key, d.claimToken)], actor, at + 1);
		expect(result.applied).toBe(true);
	};

	beforeAll(() => admin.connect());
	beforeEach(() => {
		ns = `layout-${randomUUID().slice(0, 8)}`;
	});
	afterAll(async () => {
		await Promise.all([store.close(), other.close()]);
		await admin.quit();
		await deletePrefix(prefix);
	});

	it('keeps 5 duplicates and an in-batch repeat as one event of count 6, from first to last', async () => {
		await settle('k', T0);
		for (let i = 0; i < 4; i++) expect((await claim('k', T0 + 10 + i)).outcome).toBe('duplicate');
		expect((await claim('k', T0 + 20, { repeats: { duplicates: 1, mismatches: 0 } })).outcome).toBe('duplicate');
		const history = await store.history(ns, 'k');
		expect(shape(history)).toEqual(['claimed', 'processed', 'duplicate_seen×6']);
		expect(history[2]).toMatchObject({ at: T0 + 10, lastAt: T0 + 20, count: 6, reason: 'already_processed', workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' });
		expect(await admin.llen(new NamespaceKeys(prefix, ns).history('k'))).toBe(3);
		// The record counts deliveries decided as duplicates (the in-batch repeat is history only), stats every one.
		expect((await store.get(ns, 'k'))?.duplicateCount).toBe(5);
		expect((await store.stats(ns, DAY, T0 + 30)).duplicate).toBe(6);
	});

	it('ends a run at any other event: a mismatch, a release, a new claim and its settlement', async () => {
		await settle('k', T0, 'a');
		await claim('k', T0 + 10);
		await claim('k', T0 + 11);
		expect((await claim('k', T0 + 12, { fingerprint: 'other' })).reason).toBe('payload_mismatch');
		await claim('k', T0 + 13);
		await store.transition(ns, [request('release', 'k', null, { verifyClaim: false })], actor, T0 + 14);
		await settle('k', T0 + 20);
		await claim('k', T0 + 30);
		const history = await store.history(ns, 'k');
		expect(shape(history)).toEqual([
			'claimed', 'processed', 'duplicate_seen×2', 'ambiguous_seen', 'duplicate_seen×1', 'released', 'claimed', 'processed', 'duplicate_seen×1',
		]);
		expect(history.filter((h) => h.event === 'duplicate_seen').map((h) => [h.at, h.lastAt])).toEqual([[T0 + 10, T0 + 11], [T0 + 13, T0 + 13], [T0 + 30, T0 + 30]]);
		expect((await store.stats(ns, DAY, T0 + 40)).duplicate).toBe(4);
	});

	it('starts a run with the repeats of a new claim, and keeps mismatching repeats apart', async () => {
		await claim('k', T0, { fingerprint: 'a', repeats: { duplicates: 3, mismatches: 1 } });
		expect(shape(await store.history(ns, 'k'))).toEqual(['claimed', 'duplicate_seen×3', 'ambiguous_seen']);
	});

	it('counts every one of concurrent duplicate claims from two clients', async () => {
		await settle('k', T0);
		const perClient = 60;
		const decisions = await Promise.all(
			[store, other].flatMap((by) => Array.from({ length: perClient }, (_, i) => claim('k', T0 + 10 + i, {}, by))),
		);
		expect(decisions.every((d) => d.outcome === 'duplicate')).toBe(true);
		const history = await store.history(ns, 'k');
		expect(shape(history)).toEqual(['claimed', 'processed', `duplicate_seen×${2 * perClient}`]);
		expect((await store.get(ns, 'k'))?.duplicateCount).toBe(2 * perClient);
		expect((await store.stats(ns, DAY, T0 + 1000)).duplicate).toBe(2 * perClient);
	});
});

describe('Redis data in the earlier layout (long field names, JSON history)', () => {
	const prefix = uniquePrefix('old-layout');
	const admin = new Redis({ host: connection.host, port: connection.port, lazyConnect: true });
	const store = createRedisStore({ ...connection, keyPrefix: prefix });
	const earlier = createRedisStore({ ...connection, keyPrefix: prefix });
	const ns = 'orders';
	const keys = new NamespaceKeys(prefix, ns);
	const tokens = new Map<string, string>();

	beforeAll(async () => {
		await admin.connect();
		(earlier as unknown as { scripts: Record<ScriptName, ScriptRunner> }).scripts = longLayoutScripts(admin);
		// What a store of the earlier version left: processed keys (one with two duplicates at the end
		// of its history, one JSON entry each), a live claim, a failed key and one past retention.
		const claims = await earlier.claim(ns, ['done', 'dup', 'live', 'failed'].map((key) => ({ key, fingerprint: null })), policy, actor, T0);
		claims.push(...(await earlier.claim(ns, [{ key: 'old', fingerprint: null }], { ...policy, retentionMs: 1000 }, actor, T0)));
		for (const d of claims) tokens.set(d.key, d.claimToken!);
		await earlier.transition(
			ns,
			[
				request('markProcessed', 'done', tokens.get('done')!),
				request('markProcessed', 'dup', tokens.get('dup')!),
				request('markFailed', 'failed', tokens.get('failed')!),
			],
			actor,
			T0 + 1,
		);
		expect((await earlier.claim(ns, [{ key: 'dup', fingerprint: null }], policy, actor, T0 + 2))[0].outcome).toBe('duplicate');
		expect((await earlier.claim(ns, [{ key: 'dup', fingerprint: null }], policy, actor, T0 + 3))[0].outcome).toBe('duplicate');
		await earlier.transition(ns, [request('markProcessed', 'old', tokens.get('old')!, { retentionMs: 1000 })], actor, T0 + 4);
	});
	afterAll(async () => {
		await Promise.all([store.close(), earlier.close()]);
		await admin.quit();
		await deletePrefix(prefix);
	});

	it('is in the earlier layout to begin with', async () => {
		expect(Object.keys(await admin.hgetall(keys.record('done'))).sort()).toEqual(
			['attempt', 'claimToken', 'duplicateCount', 'executionId', 'expiresAt', 'firstSeenAt', 'lastSeenAt', 'result', 'retentionMs', 'state', 'updatedAt', 'workflowId'],
		);
		expect(await admin.llen(keys.history('dup'))).toBe(4);
		expect(JSON.parse((await admin.lindex(keys.history('dup'), -1))!)).toMatchObject({ event: 'duplicate_seen', at: T0 + 3 });
	});

	it('reads records and history as they were written', async () => {
		expect(await store.get(ns, 'done')).toMatchObject({ state: 'processed', attempt: 1, claimToken: tokens.get('done'), result: { id: 'done' }, firstSeenAt: T0, updatedAt: T0 + 1, expiresAt: T0 + 1 + 30 * DAY, duplicateCount: 0, workflowId: 'wf-1' });
		expect(await store.get(ns, 'live')).toMatchObject({ state: 'processing', leaseUntil: T0 + 60_000, claimToken: tokens.get('live') });
		expect(await store.get(ns, 'failed')).toMatchObject({ state: 'failed', lastError: 'boom', attempt: 1 });
		const history = await store.history(ns, 'dup');
		// The earlier version's one entry per duplicate reads as one run, as a run written now.
		expect(shape(history)).toEqual(['claimed', 'processed', 'duplicate_seen×2']);
		expect(history[2]).toMatchObject({ at: T0 + 2, lastAt: T0 + 3, count: 2 });
		expect(history[0]).toEqual({ at: T0, event: 'claimed', reason: 'first_seen', workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard', detail: null });
	});

	it('lists, counts and purges old records like new ones', async () => {
		await store.claim(ns, [{ key: 'fresh', fingerprint: null }], policy, actor, T0 + 5);
		const listed = await store.list(ns, { limit: 100 }, T0 + 5000);
		expect(listed.records.map((r) => r.key)).toEqual(['done', 'dup', 'failed', 'fresh', 'live']); // 'old' is past retention
		expect((await store.list(ns, { limit: 100, state: 'processed' }, T0 + 5000)).records.map((r) => r.key)).toEqual(['done', 'dup']);
		expect(await store.stats(ns, DAY, T0 + 5000)).toMatchObject({ new: 6, duplicate: 2, processed: 3, failed: 1 });
		expect(await store.purge(ns, T0 + 5000)).toEqual({ records: 1, history: 2 });
		expect(await store.get(ns, 'old')).toBeNull();
	});

	it('answers a claim of an old processed key as a duplicate, joins its old duplicate and rewrites the record short', async () => {
		const ttl = await admin.pttl(keys.record('dup'));
		const [done, dup] = await store.claim(ns, [{ key: 'done', fingerprint: null }, { key: 'dup', fingerprint: null }], policy, actor, T0 + 20);
		expect(done).toMatchObject({ outcome: 'duplicate', reason: 'already_processed', result: { id: 'done' }, firstSeenAt: T0 });
		expect(dup).toMatchObject({ outcome: 'duplicate', result: { id: 'dup' } });
		expect(shape(await store.history(ns, 'done'))).toEqual(['claimed', 'processed', 'duplicate_seen×1']);
		expect((await store.history(ns, 'dup'))[2]).toMatchObject({ event: 'duplicate_seen', at: T0 + 2, lastAt: T0 + 20, count: 3 });
		expect(await store.get(ns, 'dup')).toMatchObject({ state: 'processed', duplicateCount: 3, lastSeenAt: T0 + 20, claimToken: tokens.get('dup'), expiresAt: T0 + 1 + 30 * DAY });
		const fields = Object.keys(await admin.hgetall(keys.record('dup')));
		expect(fields.every((field) => field.length === 1)).toBe(true);
		// The rewrite keeps the TTL the earlier script set.
		expect(await admin.pttl(keys.record('dup'))).toBeGreaterThan(ttl - 60_000);
	});

	it('settles an old live claim with its token and refuses a stale one', async () => {
		const [stale] = await store.transition(ns, [request('markProcessed', 'live', randomUUID())], actor, T0 + 30);
		expect(stale).toMatchObject({ applied: false, rejectReason: 'claim_lost' });
		const [applied] = await store.transition(ns, [request('markProcessed', 'live', tokens.get('live')!)], actor, T0 + 31);
		expect(applied.applied).toBe(true);
		expect(await store.get(ns, 'live')).toMatchObject({ state: 'processed', leaseUntil: null, result: { id: 'live' }, attempt: 1, firstSeenAt: T0, updatedAt: T0 + 31 });
		expect(shape(await store.history(ns, 'live'))).toEqual(['claimed', 'processed']);
		expect(await admin.zscore(keys.leaseIndex, 'live')).toBeNull();
		expect(Number(await admin.zscore(keys.stateIndex('processed'), 'live'))).toBe(T0 + 31);
		const [retry] = await store.claim(ns, [{ key: 'failed', fingerprint: null }], policy, actor, T0 + 32);
		expect(retry).toMatchObject({ outcome: 'new', reason: 'retry_after_failure', attempt: 2 });
		expect(await store.get(ns, 'failed')).toMatchObject({ state: 'processing', lastError: 'boom', attempt: 2, firstSeenAt: T0 });
	});
});
