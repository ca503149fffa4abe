// Decoders of the script replies that codec.ts does not cover: transition.lua's per-request
// tuple and stats.lua's counter list.

import type { EventTally } from '../base/BaseStore';
import type { StatsCounter } from '../stats';
import type { TransitionResult } from '../types';
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
