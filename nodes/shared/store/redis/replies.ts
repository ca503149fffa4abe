// Decoders of the script replies that codec.ts does not cover: transition.lua's per-request
// tuple, stats.lua's counter list and report.lua's hours.

import type { EventTally } from '../base/BaseStore';
import type { ReportCounter, ReportTally } from '../report';
import type { StatsCounter } from '../stats';
import { RESOLVED_VIA, type ResolvedVia, type TransitionResult } from '../types';
import { toRecord } from './codec';

const COUNTERS = new Set<string>(['new', 'duplicate', 'processed', 'failed', 'released']);

/** One item of transition.lua's reply: applied, noop, reject reason, the record hash after. */
export function toTransitionResult(namespace: string, key: string, reply: unknown): TransitionResult {
	const [applied, noop, rejectReason, record] = reply as [number, number, TransitionResult['rejectReason'], string[] | null];
	return {
		key,
		applied: applied === 1,
		noop: noop === 1,
		rejectReason: rejectReason ?? null,
		record: record ? toRecord(namespace, key, record) : null,
	};
}

/** stats.lua's reply: counter, count, counter, count… with `ambiguous:<reason>` and `openExceptions`. */
export function toEventTally(reply: Array<string | number>): EventTally {
	const tally: EventTally = { counts: [], openExceptions: 0 };
	for (let i = 0; i + 1 < reply.length; i += 2) {
		const counter = String(reply[i]);
		const count = Number(reply[i + 1]);
		if (counter === 'openExceptions') tally.openExceptions = count;
		else if (counter.startsWith('ambiguous:')) tally.counts.push({ counter: 'ambiguous', count, reason: counter.slice('ambiguous:'.length) });
		else if (COUNTERS.has(counter)) tally.counts.push({ counter: counter as StatsCounter, count, reason: null });
	}
	return tally;
}

/** The tallies of a namespace's buckets as one (buckets.ts): the counts side by side, open exceptions summed. */
export function sumTallies(tallies: EventTally[]): EventTally {
	return { counts: tallies.flatMap((tally) => tally.counts), openExceptions: tallies.reduce((sum, tally) => sum + tally.openExceptions, 0) };
}

/** report.lua's counter names → the report's (store/report.ts); ambiguous ones carry `:<reason>`. */
const REPORT_COUNTER: Record<string, ReportCounter> = {
	new: 'new',
	duplicate: 'duplicate',
	processed: 'processed',
	failed: 'failed',
	retry_succeeded: 'retrySucceeded',
	opened: 'opened',
};

/** One slot's report.lua reply; `oldest` is the uuid the caller names (RedisStore.readReport). */
export function toReportTally(reply: unknown): ReportTally & { oldest: { uuid: string; firstSeenAt: number } | null } {
	const [counts, resolved, open, oldest] = reply as [Array<string | number>, Array<string | number>, number, string[]];
	const tally: ReportTally & { oldest: { uuid: string; firstSeenAt: number } | null } = {
		hours: [],
		resolutions: [],
		openExceptions: Number(open),
		oldestOpen: null,
		oldest: oldest.length >= 2 ? { uuid: oldest[0], firstSeenAt: Number(oldest[1]) } : null,
	};
	for (let i = 0; i + 2 < counts.length; i += 3) {
		const name = String(counts[i + 1]);
		const counter = name.startsWith('ambiguous:') ? 'ambiguous' : REPORT_COUNTER[name];
		if (counter) tally.hours.push({ hour: Number(counts[i]), counter, count: Number(counts[i + 2]) });
	}
	for (let i = 0; i + 1 < resolved.length; i += 2) {
		for (const entry of String(resolved[i + 1]).split(',')) {
			const [via, ms] = entry.split(':');
			if ((RESOLVED_VIA as readonly string[]).includes(via)) tally.resolutions.push({ at: Number(resolved[i]), via: via as ResolvedVia, openMs: Number(ms) });
		}
	}
	return tally;
}

/** The tallies of every slot read as one: counts side by side, open summed, the oldest open of all. */
export function sumReportTallies(tallies: ReportTally[]): ReportTally {
	const oldestOpen = tallies
		.map((tally) => tally.oldestOpen)
		.reduce<ReportTally['oldestOpen']>((a, b) => (!b ? a : !a || b.firstSeenAt < a.firstSeenAt || (b.firstSeenAt === a.firstSeenAt && b.id < a.id) ? b : a), null);
	return {
		hours: tallies.flatMap((tally) => tally.hours),
		resolutions: tallies.flatMap((tally) => tally.resolutions),
		openExceptions: tallies.reduce((sum, tally) => sum + tally.openExceptions, 0),
		oldestOpen,
	};
}
