// The Ledger's report on every store: a scripted week of claims, duplicates, failures, retries,
// exceptions and resolutions at explicit times, and the exact figures it must give per day, per
// hour, per week and for every namespace.

import { emptyFigures } from '../../../nodes/shared/store/report';
import type { NamespaceReport, ReportFigures } from '../../../nodes/shared/store/types';
import { actor, basePolicy, DAY, exceptionRequest, HOUR, MINUTE, resolutionRequest, transitionRequest, useStore, type FixtureFactory } from './fixture';

/** Monday 2 March 2026, 00:00 UTC. */
const MON = Date.UTC(2026, 2, 2);
const TUE = MON + DAY;
const WED = MON + 2 * DAY;
const UNTIL = WED + 18 * HOUR;

const ZERO: ReportFigures = emptyFigures();

const MONDAY: ReportFigures = { ...ZERO, deliveries: 10, new: 4, duplicates: 4, ambiguous: 2, processed: 2, failed: 1, retriesSucceeded: 1, exceptionsOpened: 3 };
const TUESDAY: ReportFigures = {
	...ZERO,
	exceptionsOpened: 1,
	exceptionsResolved: 2,
	resolvedByPerson: 1,
	resolvedFromSlack: 1,
	timeToResolveMedianMs: DAY,
	timeToResolveP90Ms: DAY + 3 * HOUR,
};
const WEDNESDAY: ReportFigures = {
	...ZERO,
	deliveries: 2,
	new: 2,
	processed: 1,
	retriesSucceeded: 1,
	exceptionsOpened: 1,
	exceptionsResolved: 1,
	resolvedByReconcile: 1,
	timeToResolveMedianMs: DAY,
	timeToResolveP90Ms: DAY,
};
const WEEK: ReportFigures = {
	deliveries: 12,
	new: 6,
	duplicates: 4,
	ambiguous: 2,
	processed: 3,
	failed: 1,
	retriesSucceeded: 2,
	exceptionsOpened: 5,
	exceptionsResolved: 3,
	resolvedByPerson: 1,
	resolvedFromSlack: 1,
	resolvedByReconcile: 1,
	timeToResolveMedianMs: DAY,
	timeToResolveP90Ms: DAY + 3 * HOUR,
};

export function describeReportConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: report`, () => {
		const s = useStore(open, 'report');
		const { claimOne } = s;

		/** Three days of one namespace; returns the id of the exception left open longest. */
		async function playWeek(): Promise<string> {
			// Monday 09:00: a is new, delivered again while in flight (ambiguous), processed, then
			// twice more (duplicates stopped).
			const a = await claimOne('a', MON + 9 * HOUR);
			await claimOne('a', MON + 9 * HOUR + 20_000);
			await s.settle('markProcessed', 'a', a.claimToken, MON + 9 * HOUR + 40_000);
			await claimOne('a', MON + 9 * HOUR + 3 * MINUTE);
			await claimOne('a', MON + 9 * HOUR + 4 * MINUTE);
			// b fails, is retried at 10:00 (new, attempt 2) and processed: a retry that succeeded.
			const b1 = await claimOne('b', MON + 9 * HOUR + 5 * MINUTE);
			await s.settle('markFailed', 'b', b1.claimToken, MON + 9 * HOUR + 5 * MINUTE + 30_000);
			const b2 = await claimOne('b', MON + 10 * HOUR);
			expect(b2).toMatchObject({ outcome: 'new', attempt: 2 });
			await s.settle('markProcessed', 'b', b2.claimToken, MON + 10 * HOUR + 30_000);
			// d arrives three times in one batch, once with another payload: new, 2 duplicates, 1 ambiguous.
			await s.store.claim(s.ns, [{ key: 'd', fingerprint: null, repeats: { duplicates: 2, mismatches: 1 } }], basePolicy, actor, MON + 10 * HOUR + 2 * MINUTE);
			// Exceptions opened on Monday: a, e, and h (never resolved: the oldest open).
			const [xa] = await s.store.recordExceptions(s.ns, [exceptionRequest('a')], actor, MON + 9 * HOUR + 10 * MINUTE);
			const [xe] = await s.store.recordExceptions(s.ns, [exceptionRequest('e')], actor, MON + 9 * HOUR + 20 * MINUTE);
			const [xh] = await s.store.recordExceptions(s.ns, [exceptionRequest('h')], actor, MON + 23 * HOUR);
			// A repeat counts on the open exception; it opens nothing.
			await s.store.recordExceptions(s.ns, [exceptionRequest('h')], actor, MON + 23 * HOUR + MINUTE);

			// Tuesday: a resolved by a person after 24 h, e from Slack after 27 h; f opened.
			await s.store.resolveException(resolutionRequest({ id: xa.id, resolvedBy: 'dana' }), actor, TUE + 9 * HOUR + 10 * MINUTE);
			await s.store.resolveException(resolutionRequest({ id: xe.id, resolvedBy: 'roadrunner (U2CERLKJA)', resolvedVia: 'slack' }), actor, TUE + 12 * HOUR + 20 * MINUTE);
			const [xf] = await s.store.recordExceptions(s.ns, [exceptionRequest('f')], actor, TUE + 12 * HOUR);

			// Wednesday: c's claim outlives its lease and is taken again (new, attempt 2), then
			// processed without a claim check; f reconciled after 24 h; g opened and left open.
			await claimOne('c', WED + 8 * HOUR);
			const c2 = await claimOne('c', WED + 8 * HOUR + 2 * MINUTE, { onLeaseExpired: 'reclaim' });
			expect(c2).toMatchObject({ outcome: 'new', attempt: 2 });
			await s.settle('markProcessed', 'c', null, WED + 8 * HOUR + 2 * MINUTE + 30_000, { verifyClaim: false });
			await s.store.resolveException(
				resolutionRequest({ id: xf.id, resolution: 'reconciled', resolvedBy: 'Reconcile', resolvedVia: 'reconcile', resultJson: '{"id":"crm-7"}' }),
				actor,
				WED + 12 * HOUR,
			);
			await s.store.recordExceptions(s.ns, [exceptionRequest('g')], actor, WED + 13 * HOUR);
			return xh.id;
		}

		it('gives the exact figures of a scripted week, by day', async () => {
			const oldest = await playWeek();
			const report = await s.store.report({ namespace: s.ns, sinceMs: 7 * DAY, bucket: 'day' }, UNTIL);
			const days = (first: number, figures: ReportFigures[]) => figures.map((f, i) => ({ start: first + i * DAY, end: first + (i + 1) * DAY, ...f }));
			expect(report).toEqual<NamespaceReport>({
				namespace: s.ns,
				since: MON - 5 * DAY,
				until: UNTIL,
				bucket: 'day',
				buckets: days(MON - 5 * DAY, [ZERO, ZERO, ZERO, ZERO, ZERO, MONDAY, TUESDAY, WEDNESDAY]),
				total: WEEK,
				openExceptions: 2,
				oldestOpen: { id: oldest, namespace: s.ns, key: 'h', firstSeenAt: MON + 23 * HOUR },
			});
		});

		it('gives the same events by hour and by week, and only the hours of the window', async () => {
			await playWeek();
			const byWeek = await s.store.report({ namespace: s.ns, sinceMs: 2 * DAY, bucket: 'week' }, UNTIL);
			expect(byWeek.since).toBe(MON);
			expect(byWeek.buckets).toEqual([{ start: MON, end: MON + 7 * DAY, ...WEEK }]);

			const byHour = await s.store.report({ namespace: s.ns, sinceMs: 2 * HOUR, bucket: 'hour' }, MON + 10 * HOUR + 30 * MINUTE);
			expect(byHour.since).toBe(MON + 8 * HOUR);
			expect(byHour.buckets.map((b) => [b.start, b.deliveries, b.new, b.duplicates, b.ambiguous, b.processed, b.failed, b.retriesSucceeded, b.exceptionsOpened])).toEqual([
				[MON + 8 * HOUR, 0, 0, 0, 0, 0, 0, 0, 0],
				[MON + 9 * HOUR, 5, 2, 2, 1, 1, 1, 0, 2],
				[MON + 10 * HOUR, 5, 2, 2, 1, 1, 0, 1, 0],
			]);

			// Tuesday alone: Monday's events are outside the window, Tuesday's resolutions in it.
			const tuesday = await s.store.report({ namespace: s.ns, sinceMs: 0, bucket: 'day' }, TUE + 23 * HOUR);
			expect(tuesday.buckets).toEqual([{ start: TUE, end: TUE + DAY, ...TUESDAY }]);
			expect(tuesday.total).toEqual(TUESDAY);
		});

		it('counts nothing of another namespace and gives zeros where nothing happened', async () => {
			await playWeek();
			const other = `${s.ns}-other`;
			await s.store.claim(other, [{ key: 'a', fingerprint: null }], basePolicy, actor, MON + 9 * HOUR);
			const empty = await s.store.report({ namespace: `${s.ns}-none`, sinceMs: 7 * DAY, bucket: 'day' }, UNTIL);
			expect(empty.total).toEqual(ZERO);
			expect(empty.buckets).toHaveLength(8);
			expect(empty).toMatchObject({ openExceptions: 0, oldestOpen: null });
			expect((await s.store.report({ namespace: s.ns, sinceMs: 7 * DAY, bucket: 'day' }, UNTIL)).total).toEqual(WEEK);
		});

		it('counts a processed transition of a retried key once, however it was marked', async () => {
			const first = await claimOne('r', MON + 9 * HOUR);
			await s.settle('markFailed', 'r', first.claimToken, MON + 9 * HOUR + 1);
			const again = await claimOne('r', MON + 9 * HOUR + 2);
			// The same key twice in one call: the second is a no-op on an already processed key.
			await s.store.transition(s.ns, [transitionRequest('markProcessed', 'r', again.claimToken), transitionRequest('markProcessed', 'r', again.claimToken)], actor, MON + 9 * HOUR + 3);
			const report = await s.store.report({ namespace: s.ns, sinceMs: HOUR, bucket: 'hour' }, MON + 9 * HOUR + 10);
			expect(report.total).toMatchObject({ new: 2, processed: 1, failed: 1, retriesSucceeded: 1 });
		});

		it('refuses a bucket it does not know and a window longer than 100 days', async () => {
			await expect(s.store.report({ namespace: s.ns, sinceMs: DAY, bucket: 'month' as 'day' }, UNTIL)).rejects.toThrow('Report bucket "month" is not one of hour, day, week');
			await expect(s.store.report({ namespace: s.ns, sinceMs: 101 * DAY, bucket: 'day' }, UNTIL)).rejects.toThrow('sinceMs must be a number from 0 to 8640000000');
			await expect(s.store.report({ namespace: '', sinceMs: DAY, bucket: 'day' }, UNTIL)).rejects.toThrow(/namespace/);
		});
	});

	describe(`${name}: report of every namespace`, () => {
		const s = useStore(open, 'report-all');
		/** Monday 9 June 2025: a day no other suite of the store writes in, and older than their open exceptions. */
		const ELSEWHEN = Date.UTC(2025, 5, 9);

		it('sums every namespace and names the oldest open exception of all', async () => {
			const namespaces = ['crm-leads', 'invoices', 'payments'].map((n) => `${s.ns}-${n}`);
			const before = await s.store.report({ namespace: null, sinceMs: DAY, bucket: 'day' }, ELSEWHEN + 12 * HOUR);
			for (const [i, ns] of namespaces.entries()) {
				await s.store.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, ELSEWHEN + 9 * HOUR + i);
				await s.store.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, ELSEWHEN + 9 * HOUR + 10 + i);
			}
			await s.store.recordExceptions(namespaces[1], [exceptionRequest('k')], actor, ELSEWHEN + 11 * HOUR);
			const [oldest] = await s.store.recordExceptions(namespaces[2], [exceptionRequest('k')], actor, ELSEWHEN + 10 * HOUR);
			const report = await s.store.report({ namespace: null, sinceMs: DAY, bucket: 'day' }, ELSEWHEN + 12 * HOUR);
			expect(report.namespace).toBeNull();
			expect(report.total).toEqual({ ...ZERO, deliveries: 6, new: 3, ambiguous: 3, exceptionsOpened: 2 });
			expect(report.openExceptions).toBe(before.openExceptions + 2);
			expect(report.oldestOpen).toEqual({ id: oldest.id, namespace: namespaces[2], key: 'k', firstSeenAt: ELSEWHEN + 10 * HOUR });
		});
	});
}
