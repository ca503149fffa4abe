// Every store against the reference engine: each stored state × policy × fingerprint decides like
// decide(), and a seeded random walk of claims and transitions decides and transitions like
// decide() and planTransition(), with the effects on the record each one names.

import { decide } from '../../../nodes/shared/engine/model/decideClaim';
import { planTransition } from '../../../nodes/shared/engine/model/planTransition';
import type { ClaimPolicy } from '../../../nodes/shared/store/types';
import { actor, basePolicy, DAY, MINUTE, seeded, transitionRequest, useStore, type FixtureFactory } from './fixture';

type Setup = 'none' | 'received' | 'processing' | 'stale' | 'processed' | 'expired' | 'failed1' | 'failed3';
const SETUPS: Setup[] = ['none', 'received', 'processing', 'stale', 'processed', 'expired', 'failed1', 'failed3'];
const POLICIES: Array<Partial<ClaimPolicy>> = [
	{},
	{ onInProgress: 'duplicate', onLeaseExpired: 'reclaim', onFailed: 'ambiguous', onPayloadMismatch: 'duplicate' },
	{ maxAttempts: 1, onInProgress: 'pending' },
];
const PRINTS: Array<string | null> = [null, 'fp-a', 'fp-b'];

export function describeEngineConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: agrees with the reference engine`, () => {
		const s = useStore(open, 'engine');
		const T0 = Date.now();

		async function prepare(key: string, setup: Setup): Promise<void> {
			const at = T0 - 10 * DAY;
			if (setup === 'none') return;
			if (setup === 'received') {
				await s.transitionOne(transitionRequest('markReceived', key, null), at);
				return;
			}
			const policy = { leaseMs: setup === 'processing' ? 10 * MINUTE : MINUTE, retentionMs: setup === 'expired' ? DAY : 30 * DAY };
			const c = await s.claimOne(key, setup === 'processing' ? T0 - 1000 : at, policy, 'fp-a');
			if (setup === 'processing' || setup === 'stale') return;
			if (setup === 'processed' || setup === 'expired') {
				await s.settle('markProcessed', key, c.claimToken, at + 1);
				return;
			}
			let token = c.claimToken;
			const fails = setup === 'failed1' ? 1 : 3;
			for (let n = 1; n <= fails; n++) {
				await s.settle('markFailed', key, token, at + n * 10);
				if (n < fails) token = (await s.claimOne(key, at + n * 10 + 1, { leaseMs: MINUTE, maxAttempts: 9 })).claimToken;
			}
		}

		for (const setup of SETUPS) {
			it(`decides every policy and fingerprint like decide() for a ${setup} key`, async () => {
				let n = 0;
				for (const policyPart of POLICIES) {
					for (const fingerprint of PRINTS) {
						const key = `${setup}-${n++}`;
						await prepare(key, setup);
						const record = await s.store.get(s.ns, key);
						const expected = decide({ record, fingerprint, now: T0, policy: { ...basePolicy, ...policyPart } });
						const actual = await s.claimOne(key, T0, policyPart, fingerprint);
						expect({ key, outcome: actual.outcome, reason: actual.reason, state: actual.state }).toEqual({
							key,
							outcome: expected.outcome,
							reason: expected.reason,
							state: expected.state,
						});
					}
				}
			});
		}

		it('decides and transitions 600 random steps like decide() and planTransition()', async () => {
			const { rand, pick } = seeded(42);
			const keys = ['a', 'b', 'c'];
			const tokens = new Map<string, string | null>();
			let now = T0;
			for (let step = 0; step < 600; step++) {
				now += pick([0, 1, 500, MINUTE, 2 * MINUTE, DAY]);
				const key = pick(keys);
				const before = await s.store.get(s.ns, key);
				if (rand() < 0.55) {
					const policy: ClaimPolicy = {
						leaseMs: pick([MINUTE, 3 * MINUTE]),
						retentionMs: pick([0, DAY, 2 * DAY]),
						onInProgress: pick(['ambiguous', 'duplicate', 'pending'] as const),
						onLeaseExpired: pick(['ambiguous', 'reclaim'] as const),
						onFailed: pick(['retry', 'ambiguous'] as const),
						maxAttempts: pick([1, 2, 3, 5]),
						onPayloadMismatch: pick(['ambiguous', 'duplicate'] as const),
					};
					const fingerprint = pick([null, 'x', 'y']);
					const expected = decide({ record: before, fingerprint, now, policy });
					const [d] = await s.store.claim(s.ns, [{ key, fingerprint }], policy, actor, now);
					expect({ step, outcome: d.outcome, reason: d.reason, state: d.state }).toEqual({
						step,
						outcome: expected.outcome,
						reason: expected.reason,
						state: expected.state,
					});
					const after = await s.store.get(s.ns, key);
					if (expected.effect === 'create') expect(after).toMatchObject({ attempt: 1, firstSeenAt: now, duplicateCount: 0 });
					if (expected.effect === 'claim') expect(after?.attempt).toBe((before?.attempt ?? 0) + 1);
					if (expected.effect === 'none') expect(after).toEqual(before);
					if (expected.effect === 'seen') {
						expect({ step, after }).toEqual({
							step,
							after: { ...before, lastSeenAt: now, duplicateCount: (before?.duplicateCount ?? 0) + (d.outcome === 'duplicate' ? 1 : 0) },
						});
					}
					if (d.claimToken) tokens.set(key, d.claimToken);
				} else {
					const kind = pick(['markProcessed', 'markFailed', 'markReceived', 'release'] as const);
					const claimToken = pick([tokens.get(key) ?? null, null, 'stale']);
					const req = transitionRequest(kind, key, claimToken, { verifyClaim: rand() < 0.8, force: rand() < 0.1, retentionMs: pick([0, DAY]) });
					const plan = planTransition(before, req, now);
					const result = await s.transitionOne(req, now);
					expect({ step, applied: result.applied, noop: result.noop, rejectReason: result.rejectReason }).toEqual({
						step,
						applied: plan.action !== 'reject',
						noop: plan.action === 'noop',
						rejectReason: plan.rejectReason,
					});
					const state = (await s.store.get(s.ns, key))?.state ?? null;
					expect({ step, state }).toEqual({ step, state: plan.action === 'delete' ? null : (plan.state ?? before?.state ?? null) });
				}
			}
		});
	});
}
