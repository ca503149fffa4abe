// Where an event stands against a FeedPosition (types.ts): every store and the trigger order
// events by (time, tie-breaker), the tie-breaker compared as UTF-8 bytes — Postgres COLLATE "C".

import type { FeedPosition } from './types';

export function compareTie(a: readonly string[], b: readonly string[]): number {
	for (let i = 0; i < Math.max(a.length, b.length); i++) {
		if (a[i] === undefined) return -1;
		if (b[i] === undefined) return 1;
		const order = Buffer.compare(Buffer.from(a[i], 'utf8'), Buffer.from(b[i], 'utf8'));
		if (order !== 0) return order;
	}
	return 0;
}

/** True when (at, tie) comes after the position, i.e. has not been handed out from it yet. */
export function isAfter(position: FeedPosition, at: number, tie: readonly string[]): boolean {
	if (at !== position.at) return at > position.at;
	return position.after !== null && compareTie(tie, position.after) > 0;
}
