// Transitions on every store: the whole table — each stored state × kind × token × verifyClaim ×
// force — applied exactly as planTransition() plans it, with the record and history it names;
// lists applied in order; fencing of a stale owner; release making the next delivery new.

import { randomUUID } from 'crypto';
import { planTransition } from '../../../nodes/shared/engine/model/planTransition';
import type { TransitionKind } from '../../../nodes/shared/store/types';
import { actor, DAY, MINUTE, transitionRequest, useStore, type FixtureFactory } from './fixture';

type Setup = 'none' | 'received' | 'processing' | 'processed' | 'failed' | 'expired';
const SETUPS: Setup[] = ['none', 'received', 'processing', 'processed', 'failed', 'expired'];
const KINDS: TransitionKind[] = ['markProcessed', 'markFailed', 'markReceived', 'release'];
const TOKENS = ['own', 'other', 'none'] as const;

export function describeTransitionConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: transition`, () => {
		const s = useStore(open, 'transition');
		const T0 = Date.now();
		const request = (kind: TransitionKind, key: string, extra: Parameters<typeof transitionRequest>[3] = {}) =>
			transitionRequest(kind, key, null, { retentionMs: 0, ...extra });

		async function prepare(key: string, setup: Setup): Promise<string | null> {
			if (setup === 'none') return null;
			if (setup === 'received') {
				await s.transitionOne(request('markReceived', key, { retentionMs: DAY }), T0);
				return null;
			}
			const d = await s.claimOne(key, T0, { retentionMs: setup === 'expired' ? 100 : DAY });
			if (setup === 'processing') return d.claimToken;
			const kind = setup === 'failed' ? 'markFailed' : 'markProcessed';
			await s.transitionOne(request(kind, key, { claimToken: d.claimToken, resultJson: '{"id":1}', errorMessage: 'e' }), T0 + 1);
			return d.claimToken;
		}

		for (const setup of SETUPS) {
			it(`applies every transition to a ${setup} key exactly as planned`, async () => {
				const now = T0 + 1000;
				let n = 0;
				for (const kind of KINDS) {
					for (const token of TOKENS) {
						for (const verifyClaim of [true, false]) {
							for (const force of [false, true]) {
								const key = `${setup}-${n++}`;
								const own = await prepare(key, setup);
								const claimToken = token === 'own' ? own : token === 'other' ? randomUUID() : null;
								const req = request(kind, key, { claimToken, verifyClaim, force, resultJson: '{"r":2}', errorMessage: 'bad', retentionMs: 5 * MINUTE });
								const before = await s.store.get(s.ns, key);
								const historyBefore = await s.store.history(s.ns, key);
								const plan = planTransition(before, req, now);
								const result = await s.transitionOne(req, now);
								const after = await s.store.get(s.ns, key);
								const history = await s.store.history(s.ns, key);
								const label = { setup, kind, token, verifyClaim, force };
								// Fencing: a stale worker's token never releases a key, whatever its state.
								if (kind === 'release' && token === 'other' && verifyClaim && !force && setup !== 'none' && setup !== 'expired') {
									expect({ ...label, rejectReason: result.rejectReason }).toEqual({ ...label, rejectReason: 'claim_lost' });
								}
								expect({ ...label, applied: result.applied, noop: result.noop, rejectReason: result.rejectReason }).toEqual({
									...label,
									applied: plan.action !== 'reject',
									noop: plan.action === 'noop',
									rejectReason: plan.rejectReason,
								});
								const live = before && !(before.expiresAt !== null && before.expiresAt <= now) ? before : null;
								if (plan.action === 'reject' || plan.action === 'noop') {
									expect({ ...label, after }).toEqual({ ...label, after: before });
									expect({ ...label, history }).toEqual({ ...label, history: historyBefore });
									expect({ ...label, record: result.record }).toEqual({ ...label, record: live });
									continue;
								}
								expect(history).toHaveLength(historyBefore.length + 1);
								const event = history[history.length - 1];
								expect({ ...label, event }).toMatchObject({ ...label, event: { at: now, event: plan.event, workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' } });
								if (plan.event === 'forced') {
									expect(event.reason).toBe(kind);
									expect(event.detail).toEqual({ from: live?.state ?? null, to: plan.state ?? 'released', kind });
								} else {
									expect({ ...label, reason: event.reason, detail: event.detail ?? null }).toEqual({ ...label, reason: null, detail: null });
								}
								if (plan.action === 'delete') {
									expect(after).toBeNull();
									expect(result.record).toBeNull();
									continue;
								}
								expect(result.record).toEqual(after);
								expect(after).toMatchObject({ state: plan.state, updatedAt: now, leaseUntil: null });
								const settles = plan.state === 'processed' || plan.state === 'failed';
								if (plan.action === 'create') {
									expect(after).toMatchObject({ attempt: 0, claimToken: null, fingerprint: null, firstSeenAt: now, lastSeenAt: now, duplicateCount: 0 });
									expect(after?.expiresAt).toBe(settles ? now + 5 * MINUTE : null);
									expect(after?.result).toEqual(plan.state === 'processed' ? { r: 2 } : null);
									expect(after?.lastError).toBe(plan.state === 'failed' ? 'bad' : null);
								} else {
									// A claimed record keeps the retention its claim set.
									expect({ ...label, expiresAt: after?.expiresAt }).toEqual({ ...label, expiresAt: settles ? now + DAY : null });
									expect(after?.claimToken).toBe(before?.claimToken);
									expect(after?.attempt).toBe(before?.attempt);
									if (plan.state === 'processed') expect(after?.result).toEqual({ r: 2 });
									if (plan.state === 'failed') expect(after?.lastError).toBe('bad');
								}
							}
						}
					}
				}
			});
		}

		it('applies a list of transitions in order in one call', async () => {
			const d = await s.claimOne('k', T0);
			const results = await s.store.transition(
				s.ns,
				[
					request('markProcessed', 'k', { claimToken: d.claimToken, resultJson: '{"a":1}' }),
					request('markProcessed', 'k', { claimToken: d.claimToken, resultJson: '{"a":2}' }),
					request('release', 'k'),
					request('markProcessed', 'k', { claimToken: d.claimToken }),
				],
				actor,
				T0 + 1,
			);
			expect(results.map((r) => [r.key, r.applied, r.noop, r.rejectReason])).toEqual([
				['k', true, false, null],
				['k', true, true, null],
				['k', true, false, null],
				['k', false, false, 'not_found'],
			]);
			expect(results[1].record?.result).toEqual({ a: 1 });
		});

		it('rejects a stale owner once its lease was reclaimed, and applies the new owner', async () => {
			const stale = await s.claimOne('k', T0, { leaseMs: MINUTE });
			const fresh = await s.claimOne('k', T0 + 2 * MINUTE, { onLeaseExpired: 'reclaim' });
			expect(await s.settle('markProcessed', 'k', stale.claimToken, T0 + 2 * MINUTE + 1)).toMatchObject({ applied: false, rejectReason: 'claim_lost' });
			expect(await s.settle('markProcessed', 'k', fresh.claimToken, T0 + 2 * MINUTE + 2)).toMatchObject({ applied: true, noop: false });
			expect(await s.settle('markProcessed', 'k', fresh.claimToken, T0 + 2 * MINUTE + 3)).toMatchObject({ applied: true, noop: true });
			expect(await s.settle('markFailed', 'k', stale.claimToken, T0 + 2 * MINUTE + 4)).toMatchObject({ applied: false, rejectReason: 'claim_lost' });
			// Nor may the stale worker undo the new owner's write by releasing the key.
			const undo = await s.transitionOne(transitionRequest('release', 'k', stale.claimToken), T0 + 2 * MINUTE + 5);
			expect(undo).toMatchObject({ applied: false, rejectReason: 'claim_lost' });
			expect((await s.store.get(s.ns, 'k'))?.state).toBe('processed');
		});

		it('lets a release make the next delivery new again', async () => {
			const first = await s.claimOne('k', T0);
			await s.settle('markProcessed', 'k', first.claimToken, T0 + 1);
			const released = await s.transitionOne(transitionRequest('release', 'k', null), T0 + 2);
			expect(released).toMatchObject({ applied: true, record: null });
			expect(await s.store.get(s.ns, 'k')).toBeNull();
			expect(await s.claimOne('k', T0 + 3)).toMatchObject({ outcome: 'new', reason: 'first_seen', attempt: 1 });
			expect((await s.store.history(s.ns, 'k')).map((h) => h.event)).toEqual(['claimed', 'processed', 'released', 'claimed']);
		});
	});
}
