// Builds a report (docs/CONTRACT.md §13 "Report") from what a backend read for its hours, the
// same way for every store: the window starts at the start of the bucket holding `until - sinceMs`
// and ends at `until`; buckets are UTC hours, UTC days or weeks from Monday 00:00 UTC; time to
// resolve is the nearest-rank median and 90th percentile of the open time of the exceptions
// resolved in the bucket.

import type { NamespaceReport, OldestOpenException, ReportBucket, ReportBucketSize, ReportFigures, ResolvedVia } from './types';

export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05, the first Monday after the epoch. */
const FIRST_MONDAY_MS = 4 * DAY_MS;
/** The longest window: Redis keeps 100 days of hourly counters (lua/includes/counters.lua). */
export const MAX_REPORT_MS = 100 * DAY_MS;

/** What a backend counts per hour for a report. */
export type ReportCounter = 'new' | 'duplicate' | 'ambiguous' | 'processed' | 'failed' | 'retrySucceeded' | 'opened';

/** What a backend reads for a report: hours from the first to the last, both included. */
export interface ReportTally {
	hours: Array<{ hour: number; counter: ReportCounter; count: number }>;
	/** The exceptions resolved in those hours: when, how, and how long each was open (ms). */
	resolutions: Array<{ at: number; via: ResolvedVia; openMs: number }>;
	openExceptions: number;
	oldestOpen: OldestOpenException | null;
}

export function bucketStart(time: number, size: ReportBucketSize): number {
	if (size === 'hour') return time - mod(time, HOUR_MS);
	if (size === 'day') return time - mod(time, DAY_MS);
	return time - mod(time - FIRST_MONDAY_MS, WEEK_MS);
}

function bucketEnd(start: number, size: ReportBucketSize): number {
	return start + (size === 'hour' ? HOUR_MS : size === 'day' ? DAY_MS : WEEK_MS);
}

function mod(a: number, b: number): number {
	return ((a % b) + b) % b;
}

/** The value at rank ceil(p·n) of the sorted list; null for an empty one. */
export function nearestRank(sorted: number[], p: number): number | null {
	if (sorted.length === 0) return null;
	return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1];
}

/** Every figure zero, none resolved. */
export function emptyFigures(): ReportFigures {
	return {
		deliveries: 0,
		new: 0,
		duplicates: 0,
		ambiguous: 0,
		processed: 0,
		failed: 0,
		retriesSucceeded: 0,
		exceptionsOpened: 0,
		exceptionsResolved: 0,
		resolvedByPerson: 0,
		resolvedFromSlack: 0,
		resolvedByReconcile: 0,
		timeToResolveMedianMs: null,
		timeToResolveP90Ms: null,
	};
}

const FIGURE_OF: Record<ReportCounter, keyof ReportFigures> = {
	new: 'new',
	duplicate: 'duplicates',
	ambiguous: 'ambiguous',
	processed: 'processed',
	failed: 'failed',
	retrySucceeded: 'retriesSucceeded',
	opened: 'exceptionsOpened',
};

const RESOLVED_FIGURE: Record<ResolvedVia, 'resolvedByPerson' | 'resolvedFromSlack' | 'resolvedByReconcile'> = {
	person: 'resolvedByPerson',
	slack: 'resolvedFromSlack',
	reconcile: 'resolvedByReconcile',
};

/** The hours a backend reads for a window ending at `until`: [first, last], hour starts. */
export function reportHours(until: number, sinceMs: number, size: ReportBucketSize): { since: number; firstHour: number; lastHour: number } {
	const since = bucketStart(until - sinceMs, size);
	return { since, firstHour: since, lastHour: bucketStart(until, 'hour') };
}

export function buildReport(namespace: string | null, since: number, until: number, size: ReportBucketSize, tally: ReportTally): NamespaceReport {
	const buckets: ReportBucket[] = [];
	const index = new Map<number, ReportBucket>();
	for (let start = since; start <= until; start = bucketEnd(start, size)) {
		const bucket = { start, end: bucketEnd(start, size), ...emptyFigures() };
		buckets.push(bucket);
		index.set(start, bucket);
	}
	const total = emptyFigures();
	const lastHour = bucketStart(until, 'hour');
	for (const { hour, counter, count } of tally.hours) {
		const bucket = index.get(bucketStart(hour, size));
		if (!bucket || hour > lastHour) continue;
		(bucket[FIGURE_OF[counter]] as number) += count;
		(total[FIGURE_OF[counter]] as number) += count;
	}
	const durations = new Map<ReportBucket | ReportFigures, number[]>();
	for (const { at, via, openMs } of tally.resolutions) {
		const bucket = index.get(bucketStart(at, size));
		if (!bucket || at >= lastHour + HOUR_MS) continue;
		for (const figures of [bucket, total]) {
			figures.exceptionsResolved += 1;
			figures[RESOLVED_FIGURE[via]] += 1;
			const list = durations.get(figures) ?? [];
			list.push(openMs);
			durations.set(figures, list);
		}
	}
	for (const [figures, list] of durations) {
		list.sort((a, b) => a - b);
		figures.timeToResolveMedianMs = nearestRank(list, 0.5);
		figures.timeToResolveP90Ms = nearestRank(list, 0.9);
	}
	for (const figures of [...buckets, total]) figures.deliveries = figures.new + figures.duplicates + figures.ambiguous;
	return { namespace, since, until, bucket: size, buckets, total, openExceptions: tally.openExceptions, oldestOpen: tally.oldestOpen };
}
