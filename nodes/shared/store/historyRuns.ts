// Duplicate runs in a key's history: consecutive `duplicate_seen` events are one event with
// `lastAt` and `count`. Stores write runs compacted; this joins what is still apart when read —
// events written one per delivery before runs existed, a stored run followed by the open one.

import type { HistoryEntry } from './types';

export function compactRuns(entries: HistoryEntry[]): HistoryEntry[] {
	const out: HistoryEntry[] = [];
	for (const entry of entries) {
		if (entry.event !== 'duplicate_seen') {
			out.push(entry);
			continue;
		}
		const lastAt = entry.lastAt ?? entry.at;
		const count = entry.count ?? 1;
		const previous = out[out.length - 1];
		if (previous?.event === 'duplicate_seen') {
			previous.lastAt = Math.max(previous.lastAt ?? previous.at, lastAt);
			previous.count = (previous.count ?? 1) + count;
		} else {
			out.push({ ...entry, lastAt, count });
		}
	}
	return out;
}
