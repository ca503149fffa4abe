// Closing the loop on every store (docs/CONTRACT.md §13): who or what resolved an exception
// (`resolvedVia`), the `reconciled` resolution of a write found in the target system, and the
// conditions of a Reconcile's replay — the claim that was looked up must still be the key's, and
// must have ended before the lookup minus the settle delay; otherwise nothing changes.

import { actor, basePolicy, exceptionRequest, MINUTE, resolutionRequest, useStore, type FixtureFactory } from './fixture';

export function describeClosingLoopConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: resolvedVia and reconcile`, () => {
		const s = useStore(open, 'loop');
		const T0 = Date.now();

		const claim = async (key: string, now: number, leaseMs = MINUTE) =>
			(await s.store.claim(s.ns, [{ key, fingerprint: null }], { ...basePolicy, leaseMs, onLeaseExpired: 'reclaim' }, actor, now))[0];
		const unchanged = async (key: string) => ({ record: await s.store.get(s.ns, key), history: await s.store.history(s.ns, key) });

		it('records who resolved: person by default, slack from a button, on the exception and in the history', async () => {
			const [byHand, bySlack] = await s.store.recordExceptions(s.ns, [exceptionRequest('a'), exceptionRequest('b')], actor, T0);
			const hand = await s.store.resolveException(resolutionRequest({ id: byHand.id, resolvedBy: 'jane' }), actor, T0 + 1);
			expect(hand.exceptions[0]).toMatchObject({ status: 'resolved', resolution: 'discard', resolvedBy: 'jane', resolvedVia: 'person' });
			const slack = await s.store.resolveException(resolutionRequest({ id: bySlack.id, resolution: 'markProcessed', resolvedBy: 'roadrunner (U2CERLKJA)', resolvedVia: 'slack' }), actor, T0 + 2);
			expect(slack.exceptions[0]).toMatchObject({ resolution: 'markProcessed', resolvedBy: 'roadrunner (U2CERLKJA)', resolvedVia: 'slack', resolvedAt: T0 + 2 });
			expect(await s.store.getException(bySlack.id)).toMatchObject({ resolvedVia: 'slack' });
			expect((await s.store.history(s.ns, 'b')).pop()?.detail).toMatchObject({ resolution: 'markProcessed', resolvedBy: 'roadrunner (U2CERLKJA)', resolvedVia: 'slack' });
			expect((await s.store.getException((await s.store.recordExceptions(s.ns, [exceptionRequest('c')], actor, T0 + 3))[0].id))?.resolvedVia).toBeNull();
			// A second click resolves nothing and says who did.
			const again = await s.store.resolveException(resolutionRequest({ id: bySlack.id, resolution: 'replay', resolvedVia: 'slack' }), actor, T0 + 4);
			expect(again.exceptions).toEqual([]);
			expect(await s.store.getException(bySlack.id)).toMatchObject({ resolution: 'markProcessed', resolvedBy: 'roadrunner (U2CERLKJA)', resolvedAt: T0 + 2 });
		});

		it('refuses an unknown resolvedVia and a bad endedBy, changing nothing', async () => {
			const [exception] = await s.store.recordExceptions(s.ns, [exceptionRequest('k')], actor, T0);
			await expect(s.store.resolveException(resolutionRequest({ id: exception.id, resolvedVia: 'robot' as 'slack' }), actor, T0 + 1)).rejects.toThrow(/resolvedVia/);
			await expect(s.store.resolveException(resolutionRequest({ id: exception.id, resolution: 'replay', endedBy: Number.NaN }), actor, T0 + 1)).rejects.toThrow(/endedBy/);
			expect(await s.store.getException(exception.id)).toMatchObject({ status: 'open' });
		});

		it('reconciled: the stuck key becomes processed with what the lookup found, its exceptions resolved, the history says so', async () => {
			await claim('inv-1', T0, 1);
			const two = await s.store.recordExceptions(s.ns, [exceptionRequest('inv-1', 'write_timeout'), exceptionRequest('inv-1', 'lease_expired')], actor, T0 + 1);
			const done = await s.store.resolveException(
				resolutionRequest({ namespace: s.ns, key: 'inv-1', resolution: 'reconciled', resolvedVia: 'reconcile', resolvedBy: 'Reconcile', resultJson: '{"id":"crm-42"}', actOnKey: true }),
				actor,
				T0 + 2,
			);
			expect(done.exceptions.map((e) => e.id).sort()).toEqual(two.map((e) => e.id).sort());
			expect(done.exceptions[0]).toMatchObject({ resolution: 'reconciled', resolvedVia: 'reconcile', resolvedBy: 'Reconcile' });
			expect(done.record).toMatchObject({ state: 'processed', result: { id: 'crm-42' } });
			const last = (await s.store.history(s.ns, 'inv-1')).pop();
			expect(last).toMatchObject({ event: 'forced', detail: { from: 'processing', to: 'processed', resolution: 'reconciled', resolvedVia: 'reconcile' } });
			// The redelivery is a duplicate that gets the CRM's id: no second write.
			expect((await s.store.claim(s.ns, [{ key: 'inv-1', fingerprint: null }], basePolicy, actor, T0 + 3))[0]).toMatchObject({ outcome: 'duplicate', result: { id: 'crm-42' } });
		});

		it('reconciled with actOnKey settles a stuck claim that has no exception; without actOnKey nothing happens', async () => {
			await claim('stuck', T0, 1);
			const without = await s.store.resolveException(resolutionRequest({ namespace: s.ns, key: 'stuck', resolution: 'reconciled', resolvedVia: 'reconcile', resultJson: '{"id":1}' }), actor, T0 + 2);
			expect(without).toMatchObject({ exceptions: [], record: { state: 'processing' } });
			const settled = await s.store.resolveException(
				resolutionRequest({ namespace: s.ns, key: 'stuck', resolution: 'reconciled', resolvedVia: 'reconcile', resultJson: '{"id":1}', actOnKey: true }),
				actor,
				T0 + 3,
			);
			expect(settled).toMatchObject({ exceptions: [], record: { state: 'processed', result: { id: 1 } } });
			expect((await s.store.history(s.ns, 'stuck')).pop()?.detail).toMatchObject({ resolution: 'reconciled', exceptionIds: [], resolvedVia: 'reconcile' });
		});

		it('reconciled leaves a key already processed as it is (its own result stays) and closes the exception', async () => {
			const c = await claim('done', T0);
			await s.store.transition(s.ns, [{ kind: 'markProcessed', key: 'done', claimToken: c.claimToken, verifyClaim: true, force: false, resultJson: '{"id":"own"}', retentionMs: 0 }], actor, T0 + 1);
			const [exception] = await s.store.recordExceptions(s.ns, [exceptionRequest('done')], actor, T0 + 2);
			const before = await s.store.get(s.ns, 'done');
			const result = await s.store.resolveException(resolutionRequest({ namespace: s.ns, key: 'done', resolution: 'reconciled', resolvedVia: 'reconcile', resultJson: '{"id":"found"}', actOnKey: true }), actor, T0 + 3);
			expect(result.exceptions.map((e) => e.id)).toEqual([exception.id]);
			expect(await s.store.get(s.ns, 'done')).toEqual(before);
			expect((await s.store.history(s.ns, 'done')).pop()).toMatchObject({ event: 'forced', reason: 'reconciled', detail: { from: 'processed', to: 'processed', kind: 'reconciled' } });
		});

		describe("a Reconcile's replay (not found in the target system)", () => {
			const replay = (key: string, over: Parameters<typeof resolutionRequest>[0]) =>
				resolutionRequest({ namespace: s.ns, key, resolution: 'replay', resolvedVia: 'reconcile', actOnKey: true, ...over });

			it('releases the claim that was looked up when the lookup came after its lease plus the settle delay', async () => {
				const c = await claim('k', T0, MINUTE);
				const [exception] = await s.store.recordExceptions(s.ns, [exceptionRequest('k')], actor, T0 + 1);
				const result = await s.store.resolveException(replay('k', { claimToken: c.claimToken, endedBy: T0 + MINUTE }), actor, T0 + MINUTE + 5);
				expect(result.refused ?? null).toBeNull();
				expect(result.exceptions).toMatchObject([{ id: exception.id, resolution: 'replay', resolvedVia: 'reconcile' }]);
				expect(result.record).toBeNull();
				expect((await s.store.claim(s.ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0 + MINUTE + 6))[0]).toMatchObject({ outcome: 'new' });
			});

			it('is refused lookup_too_early when the lookup may have come before the write landed: nothing changes', async () => {
				const c = await claim('k', T0, MINUTE);
				const [exception] = await s.store.recordExceptions(s.ns, [exceptionRequest('k')], actor, T0 + 1);
				const before = await unchanged('k');
				// Looked up 10 s after the lease ended, but the settle delay is 30 s: endedBy = lookup − 30 s.
				const result = await s.store.resolveException(replay('k', { claimToken: c.claimToken, endedBy: T0 + MINUTE + 10_000 - 30_000 }), actor, T0 + 2 * MINUTE);
				expect(result).toMatchObject({ refused: 'lookup_too_early', exceptions: [], record: { state: 'processing', claimToken: c.claimToken } });
				expect(await unchanged('k')).toEqual(before);
				expect(await s.store.getException(exception.id)).toMatchObject({ status: 'open' });
			});

			it('is refused claim_changed when the key was claimed again or settled since the lookup', async () => {
				const first = await claim('again', T0, 1);
				const second = await claim('again', T0 + 10, 1); // reclaimed after the first lease ran out
				expect(second.claimToken).not.toBe(first.claimToken);
				const before = await unchanged('again');
				const refused = await s.store.resolveException(replay('again', { claimToken: first.claimToken, endedBy: T0 + 100 }), actor, T0 + 200);
				expect(refused).toMatchObject({ refused: 'claim_changed', exceptions: [] });
				expect(await unchanged('again')).toEqual(before);

				const c = await claim('settled', T0);
				await s.store.transition(s.ns, [{ kind: 'markProcessed', key: 'settled', claimToken: c.claimToken, verifyClaim: true, force: false, resultJson: null, retentionMs: 0 }], actor, T0 + 1);
				const processed = await s.store.resolveException(replay('settled', { claimToken: c.claimToken, endedBy: T0 + MINUTE }), actor, T0 + 2 * MINUTE);
				expect(processed).toMatchObject({ refused: 'claim_changed', record: { state: 'processed' } });
				// Without a token (the Trigger's stuck claim carries none) a settled key is refused the same way.
				const noToken = await s.store.resolveException(replay('settled', { endedBy: T0 + MINUTE }), actor, T0 + 2 * MINUTE);
				expect(noToken).toMatchObject({ refused: 'claim_changed' });
				expect(await s.store.get(s.ns, 'settled')).toMatchObject({ state: 'processed' });
			});

			it('without a token, a claim taken after the lookup is never released: its lease ends after the lookup', async () => {
				await claim('late', T0, 1);
				const lookedUpAt = T0 + 1000;
				await claim('late', lookedUpAt + 1, MINUTE); // reclaimed right after the lookup
				const result = await s.store.resolveException(replay('late', { endedBy: lookedUpAt - 100 }), actor, lookedUpAt + 2 * MINUTE);
				expect(result).toMatchObject({ refused: 'lookup_too_early', record: { state: 'processing' } });
			});

			it('a failed key is replayed once the lookup came after its failure plus the settle delay', async () => {
				const c = await claim('f', T0);
				await s.store.transition(s.ns, [{ kind: 'markFailed', key: 'f', claimToken: c.claimToken, verifyClaim: true, force: false, errorMessage: 'timeout', retentionMs: 0 }], actor, T0 + 5);
				expect(await s.store.resolveException(replay('f', { claimToken: c.claimToken, endedBy: T0 + 4 }), actor, T0 + 10)).toMatchObject({ refused: 'lookup_too_early' });
				const released = await s.store.resolveException(replay('f', { claimToken: c.claimToken, endedBy: T0 + 5 }), actor, T0 + 10);
				expect(released.refused ?? null).toBeNull();
				expect(await s.store.get(s.ns, 'f')).toBeNull();
			});
		});
	});
}
