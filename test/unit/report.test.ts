// The report's pure parts: buckets (UTC hours, days, weeks from Monday), nearest-rank percentiles,
// and the digest's durations and trend bars.

import { duration, reportDigest, trendLines } from '../../nodes/shared/engine/reportDigest';
import { bucketStart, buildReport, nearestRank } from '../../nodes/shared/store/report';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('report buckets and percentiles', () => {
	it('starts weeks on Monday 00:00 UTC, days at 00:00 UTC', () => {
		const sunday = Date.UTC(2026, 2, 8, 23, 59);
		expect(new Date(bucketStart(sunday, 'week')).toISOString()).toBe('2026-03-02T00:00:00.000Z');
		expect(new Date(bucketStart(Date.UTC(2026, 2, 9), 'week')).toISOString()).toBe('2026-03-09T00:00:00.000Z');
		expect(new Date(bucketStart(Date.UTC(1969, 11, 31, 5), 'week')).toISOString()).toBe('1969-12-29T00:00:00.000Z');
		expect(new Date(bucketStart(sunday, 'day')).toISOString()).toBe('2026-03-08T00:00:00.000Z');
		expect(new Date(bucketStart(sunday, 'hour')).toISOString()).toBe('2026-03-08T23:00:00.000Z');
	});

	it('takes the value at rank ceil(p·n)', () => {
		expect(nearestRank([], 0.5)).toBeNull();
		expect(nearestRank([7], 0.9)).toBe(7);
		expect(nearestRank([1, 2], 0.5)).toBe(1);
		expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
		expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9)).toBe(10);
	});

	it('puts each hour and resolution in its bucket and leaves out hours after until', () => {
		const mon = Date.UTC(2026, 2, 2);
		const report = buildReport('ns', mon, mon + DAY + 2 * HOUR, 'day', {
			hours: [
				{ hour: mon + HOUR, counter: 'new', count: 3 },
				{ hour: mon + DAY + HOUR, counter: 'duplicate', count: 2 },
				{ hour: mon + DAY + 5 * HOUR, counter: 'new', count: 9 },
			],
			resolutions: [
				{ at: mon + 2 * HOUR, via: 'slack', openMs: 60_000 },
				{ at: mon + 3 * HOUR, via: 'person', openMs: 120_000 },
			],
			openExceptions: 0,
			oldestOpen: null,
		});
		expect(report.buckets.map((b) => [b.deliveries, b.new, b.duplicates, b.exceptionsResolved, b.timeToResolveMedianMs, b.timeToResolveP90Ms])).toEqual([
			[3, 3, 0, 2, 60_000, 120_000],
			[2, 0, 2, 0, null, null],
		]);
		expect(report.total).toMatchObject({ deliveries: 5, resolvedFromSlack: 1, resolvedByPerson: 1 });
	});
});

describe('report digest', () => {
	it('writes durations in words', () => {
		expect([duration(null), duration(45_000), duration(12 * 60_000), duration(3 * HOUR), duration(3 * HOUR + 20 * 60_000), duration(DAY + 4 * HOUR)]).toEqual([
			'–',
			'45s',
			'12m',
			'3h',
			'3h 20m',
			'1d 4h',
		]);
	});

	it('draws one bar per day of a report by hour, scaled to the busiest day, duplicates first', () => {
		const mon = Date.UTC(2026, 2, 2);
		const report = buildReport(null, mon, mon + DAY + 3 * HOUR, 'hour', {
			hours: [
				{ hour: mon + HOUR, counter: 'new', count: 5 },
				{ hour: mon + 2 * HOUR, counter: 'duplicate', count: 5 },
				{ hour: mon + DAY + HOUR, counter: 'new', count: 5 },
			],
			resolutions: [],
			openExceptions: 2,
			oldestOpen: { id: 'x', namespace: 'a<b', key: 'k&1', firstSeenAt: mon },
		});
		expect(trendLines(report)).toEqual([
			`Mon 02 Mar  ${'█'.repeat(10)}${'▒'.repeat(10)}  10 in · 5 dup · 0 exc`,
			`Tue 03 Mar  ${'▒'.repeat(10)}${' '.repeat(10)}  5 in · 0 dup · 0 exc`,
		]);
		const digest = reportDigest(report);
		expect(digest.text).toContain('in every namespace: 15 deliveries, 5 duplicates stopped');
		expect(digest.text).toContain('2 open now; the oldest, key k&amp;1 in a&lt;b, for 1d 3h.');
		expect(digest.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Idempotency in numbers: every namespace', emoji: true } });
	});
});
