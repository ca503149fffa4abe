// No half-applied script (issue 11 item 7): every Redis script checks what can fail — argument
// parsing, numeric ranges, JSON decoding — before its first write. A retention of 2e11 days used to
// be stored by the claim, and the markProcessed after it failed in PEXPIRE once it had already
// set the record to processed (no history event, no TTL). The store refuses such a value before
// the call, and the scripts refuse it themselves (called here directly, as another caller could).

import { randomUUID } from 'crypto';
import { InvalidInputError } from '../../../nodes/shared/store/errors';
import { NamespaceKeys } from '../../../nodes/shared/store/redis/keys';
import { MAX_DURATION_MS } from '../../../nodes/shared/store/redis/RedisStore';
import { scriptsBesideStore } from '../../helpers/redis';
import { claimPolicy, TEST_ACTOR } from '../../helpers/claims';

const DAY_MS = 86_400_000;
const HUGE_RETENTION_MS = 2e11 * DAY_MS;
const policy = claimPolicy({ retentionMs: DAY_MS });
const actor = TEST_ACTOR;
const ACTOR_ARGS = ['sw', 'se', 'sGuard'];

describe('Redis scripts refuse before their first write', () => {
	const { prefix, client, scripts, store } = scriptsBesideStore('scripts');

	/** Every Redis key of the namespace (records, history, indexes, stats, request replies). */
	const traces = async (ns: string) => client.keys(`${prefix}{${ns}}:*`);

	it('the store refuses a retention of 2e11 days before calling Redis, naming it', async () => {
		const ns = `store-${randomUUID()}`;
		const error = await store.claim(ns, [{ key: 'a', fingerprint: null }], { ...policy, retentionMs: HUGE_RETENTION_MS }, actor).then(
			() => null,
			(e: Error) => e,
		);
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(error?.message).toMatch(new RegExp(`retentionMs must be a number from 0 to ${MAX_DURATION_MS}`));
		const transition = await store
			.transition(ns, [{ key: 'a', kind: 'markProcessed', claimToken: null, verifyClaim: false, force: true, retentionMs: HUGE_RETENTION_MS }], actor)
			.then(() => null, (e: Error) => e);
		expect(transition).toBeInstanceOf(InvalidInputError);
		expect(await traces(ns)).toEqual([]);
	});

	it('claim.lua called with that retention leaves no trace', async () => {
		const ns = `claim-${randomUUID()}`;
		const keys = new NamespaceKeys(prefix, ns);
		const args = ['', 60_000, HUGE_RETENTION_MS, 'ambiguous', 'ambiguous', 'retry', 3, 'ambiguous', ...ACTOR_ARGS, 'a', randomUUID(), 'n'];
		await expect(scripts.claim([...keys.scriptKeys, keys.record('a'), keys.history('a')], args)).rejects.toThrow(
			/retentionMs must be a whole number of ms/,
		);
		expect(await traces(ns)).toEqual([]);
	});

	it('transition.lua called with that retention leaves no trace, also after an earlier request of the chunk', async () => {
		const ns = `transition-${randomUUID()}`;
		const keys = new NamespaceKeys(prefix, ns);
		const request = (key: string, retentionMs: number) => [key, 'P01', 'n', 's{}', retentionMs];
		await expect(
			scripts.transition(
				[...keys.scriptKeys, keys.record('ok'), keys.history('ok'), keys.record('bad'), keys.history('bad')],
				['', ...ACTOR_ARGS, ...request('ok', DAY_MS), ...request('bad', HUGE_RETENTION_MS)],
			),
		).rejects.toThrow(/retentionMs must be a whole number of ms/);
		expect(await traces(ns)).toEqual([]);
	});

	it('record_exceptions.lua with an occurrence count that is no number leaves no trace', async () => {
		const ns = `exceptions-${randomUUID()}`;
		const keys = new NamespaceKeys(prefix, ns);
		const uuid = randomUUID();
		const request = (key: string, occurrences: string, reasons = '["lease_expired"]') =>
			[key, 'lease_expired', 'ops', 'high', 'q', occurrences, `${uuid}.${ns}`, 'keyAndReason', reasons];
		const scriptKeys = [
			...keys.scriptKeys,
			keys.exceptions('ok'), keys.openExceptions('ok'), keys.exceptionKey(uuid),
			keys.exceptions('bad'), keys.openExceptions('bad'), keys.exceptionKey(randomUUID()),
			keys.seenExceptionsIndex,
		];
		await expect(
			scripts.record_exceptions(scriptKeys, ['', ns, ...ACTOR_ARGS, ...request('ok', '1'), ...request('bad', 'many')]),
		).rejects.toThrow(/occurrences must be a whole number/);
		expect(await traces(ns)).toEqual([]);
		// reasons that are no JSON array: refused before the first write too
		await expect(
			scripts.record_exceptions(scriptKeys, ['', ns, ...ACTOR_ARGS, ...request('ok', '1'), ...request('bad', '1', '{oops')]),
		).rejects.toThrow(/reasons must be a JSON array/);
		expect(await traces(ns)).toEqual([]);
	});

	it('a record that already holds such a retention (written before the bound) still settles, with a TTL', async () => {
		const ns = `legacy-${randomUUID()}`;
		const keys = new NamespaceKeys(prefix, ns);
		const now = Date.now();
		await client.hset(keys.record('a'), {
			state: 'processing', attempt: '1', claimToken: 't-1', firstSeenAt: String(now), lastSeenAt: String(now),
			updatedAt: String(now), leaseUntil: String(now + 60_000), retentionMs: String(HUGE_RETENTION_MS), duplicateCount: '0',
		});
		const [result] = await store.transition(ns, [{ key: 'a', kind: 'markProcessed', claimToken: 't-1', verifyClaim: true, force: false, retentionMs: 0 }], actor);
		expect(result).toMatchObject({ applied: true, rejectReason: null });
		expect((await store.history(ns, 'a')).map((entry) => entry.event)).toEqual(['processed']);
		expect(await client.pttl(keys.record('a'))).toBeGreaterThan(0);
	});
});
