// Bad input on every store: each refused the same way — an InvalidInputError (errors.ts) before
// anything is written — whatever the backend: claims over MAX_CHUNK, policy choices and numbers
// out of range, a bad `now`, unknown states, kinds, severities and resolutions, a list cursor the
// store did not make, text that UTF-8 cannot carry, an empty namespace.

import { InvalidInputError } from '../../../nodes/shared/store/errors';
import {
	MAX_CHUNK,
	type ClaimPolicy,
	type FeedQuery,
	type IdempotencyStore,
	type OpenExceptionRequest,
	type RecordState,
	type Severity,
	type TransitionKind,
} from '../../../nodes/shared/store/types';
import { actor, basePolicy, exceptionRequest, rejectionOf, resolutionRequest, transitionRequest, useStore, type FixtureFactory } from './fixture';

/** Passes a value the types forbid, as a caller in plain JavaScript (or a bad parameter) would. */
const bad = <T>(value: unknown): T => value as T;

const BAD_NOW = [Number.NaN, Number.POSITIVE_INFINITY, bad<number>('1700000000000')];

export function describeInputConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: bad input is refused with InvalidInputError, nothing written`, () => {
		const s = useStore(open, 'input');
		const T0 = Date.now();
		const exception = (key: string, over: Partial<OpenExceptionRequest> = {}) => exceptionRequest(key, 'write_timeout', over);
		const resolution = resolutionRequest;

		/** The call is refused with an InvalidInputError that says what to change. */
		async function expectRefused(what: string, call: () => Promise<unknown>): Promise<InvalidInputError> {
			const error = await rejectionOf(call);
			expect({ what, error: error.name, message: error.message.length > 10 }).toEqual({ what, error: 'InvalidInputError', message: true });
			expect(error).toBeInstanceOf(InvalidInputError);
			return error as InvalidInputError;
		}
		/** Nothing of the namespace was written: no record, no history, no event counted. */
		async function expectNothingWritten(store: IdempotencyStore, namespace: string, keys: string[]): Promise<void> {
			for (const key of keys) {
				expect({ key, record: await store.get(namespace, key), history: await store.history(namespace, key) }).toEqual({ key, record: null, history: [] });
			}
			const stats = await store.stats(namespace, 3_600_000, T0 + 10);
			expect({ new: stats.new, ambiguous: stats.ambiguous, processed: stats.processed, open: stats.openExceptions }).toEqual({ new: 0, ambiguous: 0, processed: 0, open: 0 });
		}

		it(`refuses a claim of more than ${MAX_CHUNK} keys`, async () => {
			const requests = Array.from({ length: MAX_CHUNK + 1 }, (_, i) => ({ key: `k-${i}`, fingerprint: null }));
			await expectRefused('claim of 1001 keys', () => s.store.claim(s.ns, requests, basePolicy, actor, T0));
			await expectNothingWritten(s.store, s.ns, ['k-0', `k-${MAX_CHUNK}`]);
		});

		const badPolicies: Array<[string, Partial<ClaimPolicy>]> = [
			['leaseMs 0', { leaseMs: 0 }],
			['leaseMs negative', { leaseMs: -1 }],
			['leaseMs NaN', { leaseMs: Number.NaN }],
			['leaseMs as text', { leaseMs: bad<number>('60000') }],
			['retentionMs negative', { retentionMs: -5 }],
			['retentionMs infinite', { retentionMs: Number.POSITIVE_INFINITY }],
			['maxAttempts NaN', { maxAttempts: Number.NaN }],
			['maxAttempts negative', { maxAttempts: -1 }],
			['onInProgress unknown', { onInProgress: bad('wait') }],
			['onLeaseExpired unknown', { onLeaseExpired: bad('takeOver') }],
			['onFailed unknown', { onFailed: bad('sometimes') }],
			['onPayloadMismatch unknown', { onPayloadMismatch: bad('') }],
		];
		it.each(badPolicies)('refuses a claim whose policy has %s', async (what, part) => {
			await expectRefused(what, () => s.store.claim(s.ns, [{ key: 'k', fingerprint: null }], { ...basePolicy, ...part }, actor, T0));
			await expectNothingWritten(s.store, s.ns, ['k']);
		});

		it('refuses a claim with a bad now, a negative repeat count, or a key UTF-8 cannot carry', async () => {
			for (const now of BAD_NOW) {
				await expectRefused(`now ${String(now)}`, () => s.store.claim(s.ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, now));
			}
			await expectRefused('repeats -1', () => s.store.claim(s.ns, [{ key: 'k', fingerprint: null, repeats: { duplicates: -1, mismatches: 0 } }], basePolicy, actor, T0));
			await expectRefused('lone surrogate', () => s.store.claim(s.ns, [{ key: 'k', fingerprint: null }, { key: 'bad\ud800', fingerprint: null }], basePolicy, actor, T0));
			await expectRefused('lone surrogate in get', () => s.store.get(`${s.ns}\udc00`, 'k'));
			await expectNothingWritten(s.store, s.ns, ['k', 'bad\ufffd']);
		});

		it('refuses a key or namespace no store can hold (NUL, over 1,024 bytes), naming it and the fix, on every store alike', async () => {
			const long = `evt-${'x'.repeat(3000)}`;
			const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
				['NUL in a claimed key', () => s.store.claim(s.ns, [{ key: 'k', fingerprint: null }, { key: 'a\u0000b', fingerprint: null }], basePolicy, actor, T0), /key "a\\u0000b" contains a NUL/],
				['long claimed key', () => s.store.claim(s.ns, [{ key: long, fingerprint: null }], basePolicy, actor, T0), /key "evt-x+…" is 3004 bytes long; a store takes at most 1024/],
				['4-byte characters', () => s.store.claim(s.ns, [{ key: '😀'.repeat(257), fingerprint: null }], basePolicy, actor, T0), /is 1028 bytes long/],
				['NUL in a namespace', () => s.store.claim(`${s.ns}\u0000`, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0), /namespace .* contains a NUL/],
				['long namespace', () => s.store.get(`${s.ns}${'n'.repeat(1100)}`, 'k'), /namespace .* bytes long/],
				['NUL in a settled key', () => s.store.transition(s.ns, [transitionRequest('markReceived', 'a\u0000b', null)], actor, T0), /contains a NUL/],
				['long key of an exception', () => s.store.recordExceptions(s.ns, [exception(long)], actor, T0), /bytes long/],
				['long key undone', () => s.store.restore(s.ns, [{ key: long, claimToken: 't', prior: null }], actor, T0), /bytes long/],
			];
			for (const [what, call, message] of cases) {
				const error = await expectRefused(what, call);
				expect({ what, message: error.message, hint: Boolean(error.hint) }).toEqual({ what, message: expect.stringMatching(message), hint: true });
			}
			// The longest names taken — 1,024 bytes each of text that does not compress — are stored,
			// also together in one index entry (an exception's namespace, key and reason).
			const incompressible = (seed: number) =>
				Array.from({ length: 256 }, (_, i) => String.fromCodePoint(0x10000 + ((i + 1) * seed) % 0xf0000)).join('');
			const [key, namespace] = [incompressible(7919), incompressible(104729)];
			expect([Buffer.byteLength(key), Buffer.byteLength(namespace)]).toEqual([1024, 1024]);
			const [d] = await s.store.claim(namespace, [{ key, fingerprint: null }], basePolicy, actor, T0);
			expect(d.outcome).toBe('new');
			expect((await s.store.transition(namespace, [transitionRequest('markProcessed', key, d.claimToken)], actor, T0 + 1))[0].applied).toBe(true);
			expect((await s.store.recordExceptions(namespace, [exception(key)], actor, T0))[0].key).toBe(key);
			await expectNothingWritten(s.store, s.ns, ['k']);
		});

		it('refuses an empty namespace', async () => {
			await expectRefused('claim', () => s.store.claim('', [{ key: 'k', fingerprint: null }], basePolicy, actor, T0));
			await expectRefused('transition', () => s.store.transition('', [transitionRequest('markReceived', 'k', null)], actor, T0));
			await expectRefused('exceptions', () => s.store.recordExceptions('', [exception('k')], actor, T0));
		});

		it('refuses an unknown transition kind, a bad retention or a bad now, before writing any of the list', async () => {
			const first = transitionRequest('markReceived', 'a', null);
			await expectRefused('kind', () => s.store.transition(s.ns, [first, transitionRequest(bad<TransitionKind>('explode'), 'b', null)], actor, T0));
			await expectRefused('retention', () => s.store.transition(s.ns, [first, transitionRequest('markReceived', 'b', null, { retentionMs: -1 })], actor, T0));
			await expectRefused('retention NaN', () => s.store.transition(s.ns, [first, transitionRequest('markReceived', 'b', null, { retentionMs: Number.NaN })], actor, T0));
			for (const now of BAD_NOW) {
				await expectRefused(`now ${String(now)}`, () => s.store.transition(s.ns, [first], actor, now));
			}
			await expectNothingWritten(s.store, s.ns, ['a', 'b']);
		});

		it('refuses a list cursor it did not make, with a hint to pass nextCursor unchanged', async () => {
			await s.claimOne('a', T0);
			const crafted = [
				'not-a-cursor',
				'%%%',
				Buffer.from('{"at":1,"key":"a"}').toString('base64url'),
				Buffer.from('[1,2]').toString('base64url'),
				Buffer.from('["a","b"]').toString('base64url'),
				Buffer.from('[null,"a"]').toString('base64url'),
				Buffer.from("[1,\"a'); DROP TABLE records; --\"").toString('base64url'),
			];
			for (const cursor of crafted) {
				for (const query of [{}, { state: 'processing' as const }, { stuckOnly: true }]) {
					const error = await expectRefused(`cursor ${cursor} ${JSON.stringify(query)}`, () => s.store.list(s.ns, { limit: 10, cursor, ...query }, T0));
					expect({ cursor, hint: error.hint }).toEqual({ cursor, hint: expect.stringMatching(/nextCursor/) });
				}
			}
			expect((await s.store.get(s.ns, 'a'))?.state).toBe('processing');
		});

		it('refuses an unknown state, a negative age or a bad now in list, stats, purge and listOpen', async () => {
			await expectRefused('state', () => s.store.list(s.ns, { limit: 10, state: bad<RecordState>('done') }, T0));
			await expectRefused('olderThanMs', () => s.store.list(s.ns, { limit: 10, olderThanMs: -1 }, T0));
			await expectRefused('olderThanMs NaN', () => s.store.list(s.ns, { limit: 10, olderThanMs: Number.NaN }, T0));
			await expectRefused('sinceMs', () => s.store.stats(s.ns, -1, T0));
			await expectRefused('sinceMs NaN', () => s.store.stats(s.ns, Number.NaN, T0));
			await expectRefused('listOpen olderThanMs', () => s.store.listOpenExceptions({ namespace: s.ns, olderThanMs: -1, limit: 10 }, T0));
			for (const now of BAD_NOW) {
				await expectRefused(`list now ${String(now)}`, () => s.store.list(s.ns, { limit: 10 }, now));
				await expectRefused(`stats now ${String(now)}`, () => s.store.stats(s.ns, 1000, now));
				await expectRefused(`purge now ${String(now)}`, () => s.store.purge(s.ns, now));
				await expectRefused(`listOpen now ${String(now)}`, () => s.store.listOpenExceptions({ namespace: s.ns, olderThanMs: 1000, limit: 10 }, now));
			}
		});

		it('refuses a feed window with times that are no numbers', async () => {
			const window: FeedQuery = { namespace: s.ns, from: { at: T0, after: null }, until: T0 + 1000, limit: 10 };
			for (const query of [{ ...window, until: Number.NaN }, { ...window, from: { at: Number.NaN, after: null } }, { ...window, until: bad<number>('later') }]) {
				await expectRefused(`stuckClaims ${JSON.stringify(query)}`, () => s.store.stuckClaims(query));
				await expectRefused(`exceptionsSeen ${JSON.stringify(query)}`, () => s.store.exceptionsSeen(query));
			}
		});

		it('refuses an unknown severity, before recording any exception of the list', async () => {
			await expectRefused('severity', () => s.store.recordExceptions(s.ns, [exception('a'), exception('b', { severity: bad<Severity>('urgent') })], actor, T0));
			await expectRefused('now', () => s.store.recordExceptions(s.ns, [exception('a')], actor, Number.NaN));
			expect(await s.store.listOpenExceptions({ namespace: s.ns, limit: 10 }, T0)).toEqual([]);
			await expectNothingWritten(s.store, s.ns, ['a', 'b']);
		});

		it('refuses an unknown resolution or a result that is no JSON, leaving the exception open and the key as it was', async () => {
			const d = await s.claimOne('k', T0, { leaseMs: 1 });
			const [open] = await s.store.recordExceptions(s.ns, [exception('k')], actor, T0 + 1);
			const before = await s.store.get(s.ns, 'k');
			await expectRefused('resolution', () => s.store.resolveException(resolution({ id: open.id, resolution: bad('later') }), actor, T0 + 2));
			await expectRefused('resolution by key', () => s.store.resolveException(resolution({ namespace: s.ns, key: 'k', resolution: bad('') }), actor, T0 + 2));
			await expectRefused('result', () => s.store.resolveException(resolution({ id: open.id, resolution: 'markProcessed', resultJson: '{oops' }), actor, T0 + 2));
			await expectRefused('now', () => s.store.resolveException(resolution({ id: open.id, resolution: 'replay' }), actor, Number.NaN));
			expect(await s.store.getException(open.id)).toEqual(open);
			expect(await s.store.get(s.ns, 'k')).toEqual(before);
			expect(d.outcome).toBe('new');
		});

		it('refuses a restore with a bad now, leaving the claim', async () => {
			const d = await s.claimOne('k', T0);
			await expectRefused('now', () => s.store.restore(s.ns, [{ key: 'k', claimToken: d.claimToken!, prior: null }], actor, Number.NaN));
			expect((await s.store.get(s.ns, 'k'))?.claimToken).toBe(d.claimToken);
		});
	});
}
