// Builds a namespace's stats (docs/CONTRACT.md §6) from counted history events, the same way for every store:
// new = claimed + reclaimed, duplicate = duplicate_seen, ambiguous = ambiguous_seen (by reason),
// processed, failed, released.

import type { NamespaceStats } from './types';

export type StatsCounter = 'new' | 'duplicate' | 'ambiguous' | 'processed' | 'failed' | 'released';

/** The counter a history event adds to, or null for events stats do not count (forced, received). */
export function counterOf(event: string): StatsCounter | null {
	switch (event) {
		case 'claimed':
		case 'reclaimed':
			return 'new';
		case 'duplicate_seen':
			return 'duplicate';
		case 'ambiguous_seen':
			return 'ambiguous';
		case 'processed':
		case 'failed':
		case 'released':
			return event;
		default:
			return null;
	}
}

export class StatsBuilder {
	readonly stats: NamespaceStats;

	constructor(namespace: string, since: number, until: number) {
		this.stats = {
			namespace,
			since,
			until,
			new: 0,
			duplicate: 0,
			ambiguous: 0,
			ambiguousByReason: {},
			processed: 0,
			failed: 0,
			released: 0,
			openExceptions: 0,
		};
	}

	add(counter: StatsCounter, count: number, reason?: string | null): void {
		this.stats[counter] += count;
		if (counter === 'ambiguous' && reason) {
			this.stats.ambiguousByReason[reason] = (this.stats.ambiguousByReason[reason] ?? 0) + count;
		}
	}
}
