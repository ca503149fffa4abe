// The list cursor: where a page stopped, as the (time, key) of its last index entry, opaque to
// callers — base64url of `[at, key]`, the same text on every store and as earlier versions wrote
// it, so a cursor handed out before an upgrade still pages on.

import { InvalidInputError } from '../errors';

/**
 * A position in an index: the sort time of an entry (leaseUntil for stuck claims, updatedAt by
 * state; unused in key order) and its key.
 */
export interface ListPosition {
	at: number;
	key: string;
}

export function encodeCursor(position: ListPosition): string {
	return Buffer.from(JSON.stringify([position.at, position.key]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): ListPosition | null {
	if (cursor === null || cursor === undefined || cursor === '') return null;
	if (typeof cursor === 'string') {
		try {
			const [at, key] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
			if (typeof at === 'number' && Number.isFinite(at) && typeof key === 'string') return { at, key };
		} catch {
			// reported below
		}
	}
	throw new InvalidInputError(
		'The list cursor is not valid',
		'Pass the nextCursor of the previous page unchanged, or leave the cursor empty to start at the beginning.',
	);
}
