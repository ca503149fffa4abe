// The Exception Router's queue on every store: de-duplication while open, grouping by key, each
// resolution's effect on the key and the exact history entry it writes, listing filters within
// and across namespaces, and text that is no exception id.

import { randomUUID } from 'crypto';
import type { HistoryEntry, IdempotencyStore, OpenExceptionRequest } from '../../../nodes/shared/store/types';
import { actor, basePolicy, DAY, resolutionRequest, type FixtureFactory, type StoreFixture } from './fixture';

export function describeExceptionConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: exception queue`, () => {
		let fixture: StoreFixture;
		let store: Required<IdempotencyStore>;
		let ns: string;
		const T0 = Date.now();
		const request = (key: string, reason = 'payload_mismatch', over: Partial<OpenExceptionRequest> = {}): OpenExceptionRequest => ({
			key,
			reason,
			owner: 'U024BE7LH',
			severity: 'high',
			route: 'Finance',
			...over,
		});

		beforeAll(async () => {
			fixture = await open();
			store = fixture.store as Required<IdempotencyStore>;
		});
		afterAll(async () => {
			await fixture?.cleanup();
		});
		beforeEach(() => {
			ns = `exc-${randomUUID()}`;
		});

		it('opens one exception per (namespace, key, reason) and counts repeats while it is open', async () => {
			const [first] = await store.recordExceptions(ns, [request('inv-1')], actor, T0);
			expect(first).toMatchObject({ namespace: ns, key: 'inv-1', reason: 'payload_mismatch', owner: 'U024BE7LH', severity: 'high', route: 'Finance', status: 'open', occurrences: 1, firstSeenAt: T0, lastSeenAt: T0, resolution: null });
			expect(first.id).toBeTruthy();
			const [second] = await store.recordExceptions(ns, [request('inv-1')], { ...actor, executionId: 'ex-2' }, T0 + 5);
			expect(second).toMatchObject({ id: first.id, occurrences: 2, firstSeenAt: T0, lastSeenAt: T0 + 5, executionId: 'ex-2' });
			const [other] = await store.recordExceptions(ns, [request('inv-1', 'lease_expired')], actor, T0 + 6);
			expect(other.id).not.toBe(first.id);
			const both = await store.recordExceptions(ns, [request('inv-2'), request('inv-2'), request('inv-3')], actor, T0 + 7);
			expect(both[0].id).toBe(both[1].id);
			expect(both[1].occurrences).toBe(2);
			expect(both[2].occurrences).toBe(1);
			expect((await store.getException(first.id))?.occurrences).toBe(2);
		});

		it('counts open exceptions in stats', async () => {
			await store.recordExceptions(ns, [request('a'), request('b'), request('a')], actor, T0);
			expect((await store.stats(ns, 3_600_000, T0 + 1)).openExceptions).toBe(2);
		});

		it('replay releases the key so the next delivery is new, and records it in history', async () => {
			// A lease that has run out: a live claim is not replayed (reliability.conformance.ts).
			await store.claim(ns, [{ key: 'k', fingerprint: 'a' }], { ...basePolicy, leaseMs: 1 }, actor, T0);
			await store.claim(ns, [{ key: 'k', fingerprint: 'b' }], basePolicy, actor, T0 + 1);
			const [exception] = await store.recordExceptions(ns, [request('k')], actor, T0 + 2);
			const resolved = await store.resolveException({ id: exception.id, namespace: null, key: null, resolution: 'replay', resolvedBy: 'jane', note: 'sender corrected the amount', resultJson: null }, actor, T0 + 3);
			expect(resolved.exceptions).toHaveLength(1);
			expect(resolved.exceptions[0]).toMatchObject({ id: exception.id, status: 'resolved', resolution: 'replay', resolvedBy: 'jane', resolvedAt: T0 + 3, note: 'sender corrected the amount' });
			expect(resolved.record).toBeNull();
			expect(await store.get(ns, 'k')).toBeNull();
			const history = await store.history(ns, 'k');
			const last = history[history.length - 1];
			expect(last).toMatchObject({ event: 'released', reason: 'replay' });
			expect(last.detail).toMatchObject({ resolution: 'replay', resolvedBy: 'jane', exceptionIds: [exception.id] });
			const [again] = await store.claim(ns, [{ key: 'k', fingerprint: 'b' }], basePolicy, actor, T0 + 4);
			expect(again).toMatchObject({ outcome: 'new', reason: 'first_seen' });
			expect((await store.stats(ns, 3_600_000, T0 + 5)).openExceptions).toBe(0);
		});

		it('markProcessed sets the key processed with the result later duplicates receive', async () => {
			await store.claim(ns, [{ key: 'k', fingerprint: null }], { ...basePolicy, leaseMs: 10 }, actor, T0);
			await store.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0 + 100);
			await store.recordExceptions(ns, [request('k', 'lease_expired')], actor, T0 + 101);
			const resolved = await store.resolveException({ id: null, namespace: ns, key: 'k', resolution: 'markProcessed', resolvedBy: 'ops', note: null, resultJson: '{"contactId":"c-7"}' }, actor, T0 + 102);
			expect(resolved.exceptions.map((e) => e.status)).toEqual(['resolved']);
			expect(resolved.record).toMatchObject({ state: 'processed', result: { contactId: 'c-7' } });
			const [dup] = await store.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0 + 103);
			expect(dup).toMatchObject({ outcome: 'duplicate', reason: 'already_processed', result: { contactId: 'c-7' } });
			const events = (await store.history(ns, 'k')).map((h) => `${h.event}:${h.reason}`);
			expect(events).toContain('forced:markProcessed');
		});

		it('discard leaves the key as it is and closes the exception, on the record', async () => {
			await store.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0);
			const [exception] = await store.recordExceptions(ns, [request('k', 'in_progress')], actor, T0 + 1);
			const resolved = await store.resolveException({ id: exception.id, namespace: null, key: null, resolution: 'discard', resolvedBy: null, note: 'test', resultJson: null }, actor, T0 + 2);
			expect(resolved.record).toMatchObject({ state: 'processing', attempt: 1 });
			expect(resolved.exceptions[0]).toMatchObject({ status: 'resolved', resolution: 'discard' });
			const last = (await store.history(ns, 'k')).pop();
			expect(last).toMatchObject({ event: 'forced', reason: 'discard' });
			// A new occurrence after resolution opens a new exception.
			const [next] = await store.recordExceptions(ns, [request('k', 'in_progress')], actor, T0 + 3);
			expect(next.id).not.toBe(exception.id);
			expect(next.occurrences).toBe(1);
		});

		it('treats resolving a resolved or unknown exception as nothing to do', async () => {
			const [exception] = await store.recordExceptions(ns, [request('k')], actor, T0);
			await store.resolveException({ id: exception.id, namespace: null, key: null, resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 1);
			const again = await store.resolveException({ id: exception.id, namespace: null, key: null, resolution: 'replay', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 2);
			expect(again.exceptions).toEqual([]);
			expect((await store.getException(exception.id))?.resolution).toBe('discard');
			const unknown = await store.resolveException({ id: randomUUID(), namespace: null, key: null, resolution: 'replay', resolvedBy: null, note: null, resultJson: null }, actor, T0);
			expect(unknown.exceptions).toEqual([]);
			expect(await store.getException('not-an-id')).toBeNull();
		});

		it('lists open exceptions oldest first, by owner, reason, age and namespace', async () => {
			await store.recordExceptions(ns, [request('a', 'payload_mismatch', { owner: 'finance' })], actor, T0 - 120_000);
			await store.recordExceptions(ns, [request('b', 'lease_expired', { owner: 'revops' })], actor, T0 - 60_000);
			await store.recordExceptions(ns, [request('c', 'payload_mismatch', { owner: 'revops' })], actor, T0);
			const all = await store.listOpenExceptions({ namespace: ns, limit: 10 }, T0);
			expect(all.map((e) => e.key)).toEqual(['a', 'b', 'c']);
			expect((await store.listOpenExceptions({ namespace: ns, owner: 'revops', limit: 10 }, T0)).map((e) => e.key)).toEqual(['b', 'c']);
			expect((await store.listOpenExceptions({ namespace: ns, reason: 'payload_mismatch', limit: 10 }, T0)).map((e) => e.key)).toEqual(['a', 'c']);
			expect((await store.listOpenExceptions({ namespace: ns, olderThanMs: 90_000, limit: 10 }, T0)).map((e) => e.key)).toEqual(['a']);
			expect(await store.listOpenExceptions({ namespace: ns, limit: 2 }, T0)).toHaveLength(2);
			const everywhere = await store.listOpenExceptions({ owner: 'finance', limit: 1000 }, T0);
			expect(everywhere.some((e) => e.namespace === ns && e.key === 'a')).toBe(true);
		});

		it('groups by key: one open incident per key, its reasons listed in order, occurrences counted', async () => {
			const byKey = (key: string, reason: string) => request(key, reason, { groupBy: 'key' });
			const [timeout] = await store.recordExceptions(ns, [byKey('inv-9', 'write_timeout')], actor, T0);
			expect(timeout).toMatchObject({ reason: 'write_timeout', reasons: ['write_timeout'], groupBy: 'key', occurrences: 1, status: 'open' });
			const [inProgress] = await store.recordExceptions(ns, [byKey('inv-9', 'in_progress')], { ...actor, executionId: 'ex-2' }, T0 + 1);
			const [expired, again] = await store.recordExceptions(ns, [byKey('inv-9', 'lease_expired'), byKey('inv-9', 'in_progress')], actor, T0 + 2);
			for (const seen of [inProgress, expired, again]) expect(seen.id).toBe(timeout.id);
			expect(again).toMatchObject({ reason: 'write_timeout', reasons: ['write_timeout', 'in_progress', 'lease_expired'], occurrences: 4, firstSeenAt: T0, lastSeenAt: T0 + 2 });
			expect(await store.getException(timeout.id)).toMatchObject({ reasons: ['write_timeout', 'in_progress', 'lease_expired'], occurrences: 4 });
			// Per (key, reason) exceptions of the same key stay their own.
			const [perReason] = await store.recordExceptions(ns, [request('inv-9', 'write_timeout')], actor, T0 + 3);
			expect(perReason.id).not.toBe(timeout.id);
			expect(perReason).toMatchObject({ groupBy: 'keyAndReason', reasons: ['write_timeout'], occurrences: 1 });
			const open = await store.listOpenExceptions({ namespace: ns, limit: 10 }, T0 + 4);
			expect(open.map((e) => [e.groupBy, e.occurrences])).toEqual([['key', 4], ['keyAndReason', 1]]);
			expect((await store.stats(ns, 3_600_000, T0 + 4)).openExceptions).toBe(2);
			// Resolving the key closes both; the next occurrence opens a new incident.
			const resolved = await store.resolveException({ id: null, namespace: ns, key: 'inv-9', resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 5);
			expect(resolved.exceptions.map((e) => e.id).sort()).toEqual([timeout.id, perReason.id].sort());
			const [next] = await store.recordExceptions(ns, [byKey('inv-9', 'lease_expired')], actor, T0 + 6);
			expect(next.id).not.toBe(timeout.id);
			expect(next).toMatchObject({ reason: 'lease_expired', reasons: ['lease_expired'], occurrences: 1 });
		});

		it('groups by key within one call: the reasons of one key merge, other keys stay apart', async () => {
			const list = await store.recordExceptions(
				ns,
				[request('a', 'write_timeout', { groupBy: 'key' }), request('b', 'in_progress', { groupBy: 'key' }), request('a', 'lease_expired', { groupBy: 'key' }), request('a', 'write_timeout', { groupBy: 'key' })],
				actor,
				T0,
			);
			expect(list[0].id).toBe(list[2].id);
			expect(list[0].id).toBe(list[3].id);
			expect(list[1].id).not.toBe(list[0].id);
			expect(list[0]).toMatchObject({ reasons: ['write_timeout', 'lease_expired'], occurrences: 3 });
			expect(list[1]).toMatchObject({ reasons: ['in_progress'], occurrences: 1 });
		});
		const resolution = resolutionRequest;
		const claim = async (key: string, now: number, policy: Partial<typeof basePolicy> = {}) =>
			(await store.claim(ns, [{ key, fingerprint: null }], { ...basePolicy, ...policy }, actor, now))[0];

		it('writes each resolution into the key’s history with the exception ids, who and why', async () => {
			await claim('r', T0, { leaseMs: 1 });
			const [replayed] = await store.recordExceptions(ns, [request('r')], actor, T0 + 1);
			await store.resolveException(resolution({ id: replayed.id, resolution: 'replay', resolvedBy: 'jane' }), actor, T0 + 2);
			expect((await store.history(ns, 'r')).pop()).toEqual<HistoryEntry>({
				at: T0 + 2, event: 'released', reason: 'replay', workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard',
				detail: { resolution: 'replay', exceptionIds: [replayed.id], resolvedBy: 'jane', resolvedVia: 'person', note: null },
			});

			await claim('m', T0, { retentionMs: DAY });
			const two = await store.recordExceptions(ns, [request('m', 'in_progress'), request('m', 'lease_expired')], actor, T0 + 1);
			const done = await store.resolveException(resolution({ namespace: ns, key: 'm', resolution: 'markProcessed', note: 'posted by hand', resultJson: '{"id":9}' }), actor, T0 + 3);
			expect(done.exceptions.map((e) => e.id).sort()).toEqual(two.map((e) => e.id).sort());
			expect(done.record).toMatchObject({ state: 'processed', attempt: 1, result: { id: 9 }, expiresAt: T0 + 3 + DAY, leaseUntil: null });
			const forced = (await store.history(ns, 'm')).pop();
			expect(forced).toMatchObject({ event: 'forced', reason: 'markProcessed' });
			expect(forced?.detail).toEqual({ from: 'processing', to: 'processed', kind: 'markProcessed', resolution: 'markProcessed', exceptionIds: done.exceptions.map((e) => e.id), resolvedBy: null, resolvedVia: 'person', note: 'posted by hand' });

			const [discarded] = await store.recordExceptions(ns, [request('m')], actor, T0 + 4);
			const left = await store.resolveException(resolution({ id: discarded.id, resolution: 'discard', resolvedBy: 'ops' }), actor, T0 + 5);
			expect(left.record).toEqual(await store.get(ns, 'm'));
			expect((await store.history(ns, 'm')).pop()?.detail).toEqual({ from: 'processed', to: 'processed', kind: 'discard', resolution: 'discard', exceptionIds: [discarded.id], resolvedBy: 'ops', resolvedVia: 'person', note: null });
		});

		it('acts on a key without a record: markProcessed creates it (attempt 0, 30 days), replay finds nothing to release', async () => {
			const [a, b, c] = await store.recordExceptions(ns, [request('new'), request('nothing'), request('unseen')], actor, T0);
			const created = await store.resolveException(resolution({ id: a.id, resolution: 'markProcessed', resultJson: '{"ok":1}' }), actor, T0 + 1);
			expect(created.record).toMatchObject({ state: 'processed', attempt: 0, claimToken: null, result: { ok: 1 }, firstSeenAt: T0 + 1, expiresAt: T0 + 1 + 30 * DAY });
			expect((await store.list(ns, { state: 'processed', limit: 10 }, T0 + 2)).records.map((r) => r.key)).toEqual(['new']);
			const replayed = await store.resolveException(resolution({ id: b.id, resolution: 'replay' }), actor, T0 + 1);
			expect(replayed).toMatchObject({ exceptions: [{ status: 'resolved' }], record: null });
			expect(await store.history(ns, 'nothing')).toEqual([]);
			const discarded = await store.resolveException(resolution({ id: c.id, resolution: 'discard' }), actor, T0 + 1);
			expect(discarded.record).toBeNull();
			expect((await store.history(ns, 'unseen')).map((h) => [h.event, h.reason, h.detail?.from])).toEqual([['forced', 'discard', null]]);
		});

		it('treats text that is no id, or no exception’s id, as nothing to find or resolve', async () => {
			const uuid = randomUUID();
			const [real] = await store.recordExceptions(ns, [request('k')], actor, T0);
			const ids = ['', 'not-an-id', uuid, `${uuid}.`, `${uuid}.a b`, `${real.id}x`, `x${real.id}`, `${real.id.slice(0, 36)}.other-ns`, `'; DROP TABLE exceptions; --`, 'x'.repeat(10_000)];
			for (const id of ids) {
				expect({ id, found: await store.getException(id) }).toEqual({ id, found: null });
				const resolved = await store.resolveException(resolution({ id, resolution: 'replay' }), actor, T0 + 1);
				expect({ id, exceptions: resolved.exceptions, record: resolved.record }).toEqual({ id, exceptions: [], record: null });
			}
			expect((await store.getException(real.id))?.status).toBe('open');
		});

		it('lists open exceptions across namespaces, oldest first, by owner, age and limit', async () => {
			const other = `${ns}-other`;
			await store.recordExceptions(ns, [request('a', 'r', { owner: ns })], actor, T0 - 2000);
			await store.recordExceptions(other, [request('b', 'r', { owner: ns })], actor, T0 - 1000);
			await store.recordExceptions(ns, [request('c', 'r', { owner: ns })], actor, T0);
			const listed = async (query: { namespace?: string; olderThanMs?: number; limit?: number } = {}) =>
				(await store.listOpenExceptions({ owner: ns, limit: 10, ...query }, T0 + 1)).map((e) => `${e.namespace === ns ? 'ns' : 'other'}/${e.key}`);
			expect(await listed()).toEqual(['ns/a', 'other/b', 'ns/c']);
			expect(await listed({ olderThanMs: 1000 })).toEqual(['ns/a', 'other/b']);
			expect(await listed({ limit: 1 })).toEqual(['ns/a']);
			expect(await listed({ namespace: other })).toEqual(['other/b']);
			await store.resolveException(resolution({ namespace: ns, key: 'a', resolution: 'discard' }), actor, T0 + 1);
			expect(await listed()).toEqual(['other/b', 'ns/c']);
		});

		it('clamps the limit of open exceptions: 0 means the default of 100', async () => {
			await store.recordExceptions(ns, Array.from({ length: 120 }, (_, i) => request(`k-${i}`)), actor, T0);
			expect(await store.listOpenExceptions({ namespace: ns, limit: 0 }, T0)).toHaveLength(100);
			expect(await store.listOpenExceptions({ namespace: ns, limit: 5000 }, T0)).toHaveLength(120);
			expect(await store.listOpenExceptions({ namespace: ns, limit: -3 }, T0)).toHaveLength(1);
		});
	});

}
