// The shapes the suites hand to the report: comparisons (a store figure against a reference
// figure of the same run, with the ratio's target) and footprints (bytes per stored key).

import type { Figure, Target } from './measure';

export type StoreName = 'Postgres' | 'Redis' | 'Embedded (PGlite)';

export interface Comparison {
	section: 'throughput' | 'latency' | 'scale';
	store: StoreName;
	/** What was measured, e.g. `fresh claims` or `fresh claims at 10M stored`. */
	name: string;
	unit: string;
	/** The store as the Guard / Ledger call it. */
	guard: Figure;
	/** The reference: the raw ceiling, or (scale) the same operation at the smallest size. */
	reference: Figure;
	referenceLabel: string;
	/** guard ÷ reference, run by run. */
	ratio: Figure;
	target: Target;
	/** Keys per run, chunk size and the like. */
	detail: string;
}

export interface FootprintPart {
	label: string;
	/** Bytes per stored key (or per event, for history). */
	bytes: number;
	how: string;
}

export interface Footprint {
	store: StoreName;
	/** When it was taken, e.g. `10M preloaded` or `after a store-level run`. */
	when: string;
	records: number;
	/** Bytes per record, everything counted (the figure held to the target). */
	bytesPerRecord: number;
	/** Bytes of history per record (history is counted separately from the record). */
	historyBytesPerRecord: number;
	/** Bytes of history per event, where the store measures it (target ≤ 120). */
	historyBytesPerEvent?: number;
	parts: FootprintPart[];
}

export interface SuiteResult {
	comparisons: Comparison[];
	footprints: Footprint[];
	/** Things the reader should know: preload times, skipped sizes, profiles. */
	notes: string[];
}

export function emptyResult(): SuiteResult {
	return { comparisons: [], footprints: [], notes: [] };
}
