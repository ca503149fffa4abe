// Every reason code in words: the one place to read or change what a code means to a person and
// what they should do next. The codes themselves are contract (docs/CONTRACT.md §5, §7) and are
// all listed in store/types.ts. A code without its text here does not compile.

import type { ReasonCode } from '../store/types';

export { ROUTABLE_REASONS, ROUTE_REASONS, type ReasonCode } from '../store/types';

export interface ReasonText {
	/** A short label, e.g. for a Slack header. */
	label: string;
	/** What happened, in plain words. */
	explanation: string;
	/** What the owner should do. */
	nextAction: string;
}

export const REASONS: Record<ReasonCode, ReasonText> = {
	first_seen: {
		label: 'First seen',
		explanation: 'The key was seen for the first time.',
		nextAction: 'Nothing to do.',
	},
	in_progress: {
		label: 'Still in progress',
		explanation: 'An earlier execution holds a live claim on this key and has not finished (it may also be a test run in the editor).',
		nextAction: 'Wait for that execution; if it never finishes, the key shows up as lease_expired. Then replay or mark processed.',
	},
	lease_expired: {
		label: 'Claim went stale',
		explanation: 'An earlier execution claimed this key and never reported back within its lease: it may have crashed before or after the write.',
		nextAction: 'Check the target system: if the record exists, resolve as markProcessed (with its id); if not, resolve as replay.',
	},
	reclaimed: {
		label: 'Reclaimed',
		explanation: 'A stale claim was taken over by a new execution.',
		nextAction: 'Nothing to do unless the write is not an upsert.',
	},
	already_processed: {
		label: 'Already processed',
		explanation: 'The key was processed before; this delivery is a duplicate.',
		nextAction: 'Nothing to do.',
	},
	payload_mismatch: {
		label: 'Same key, different payload',
		explanation: 'A delivery arrived for a known key with different content (for example another amount).',
		nextAction: 'Compare the two payloads with the sender: if the change is a correction, replay; if it is an error, discard.',
	},
	retry_after_failure: {
		label: 'Retrying after a failure',
		explanation: 'The last attempt failed; this delivery retries it.',
		nextAction: 'Nothing to do unless it keeps failing.',
	},
	previously_failed: {
		label: 'Failed before',
		explanation: 'An earlier attempt at this key failed and automatic retries are off.',
		nextAction: 'Read the last error in the State Ledger; fix the cause, then replay.',
	},
	max_attempts: {
		label: 'Retries exhausted',
		explanation: 'The write failed on every allowed attempt.',
		nextAction: 'Read the last error in the State Ledger; fix the cause, then replay.',
	},
	missing_key: {
		label: 'No business key',
		explanation: 'The item lacks the fields the business key is built from, so it cannot be de-duplicated.',
		nextAction: 'Fix the sender or the Guard key fields; then send the event again.',
	},
	duplicate_in_batch: {
		label: 'Repeated in one batch',
		explanation: 'The same key appeared more than once in one input.',
		nextAction: 'If the payloads differ, decide which one is right; otherwise nothing to do.',
	},
	store_unavailable: {
		label: 'Idempotency store down',
		explanation: 'The idempotency store could not be reached, so nothing could be decided safely.',
		nextAction: 'Restore the store connection, then replay the delivery.',
	},
	legacy_key: {
		label: 'Key stored by an older version',
		explanation:
			'The key has the form of a hashed key (sha256:…). Such keys are now hashed again so that no delivery can pose as another event; a record stored under the key as written by an older version exists. It is either this event, delivered before the upgrade, or another event whose hashed key is this text.',
		nextAction:
			'Look up the old record with the State Ledger (Get, explicit key = the text shown in detail). If it is this event, resolve as markProcessed; if not, mark the new key received with the Ledger so the next delivery is New.',
	},
	not_replicated: {
		label: 'Not confirmed by the replicas',
		explanation:
			'The store took the claim on its primary, but the replicas did not confirm it in time: a failover now could forget it, so the item was not let through as New. Nothing was written to the target.',
		nextAction:
			'Check the Redis replicas (connected? far behind?). Nothing was written to the target: once they are back, resolve as replay (the key is released, the next delivery is New).',
	},
	write_failed: {
		label: 'Write failed',
		explanation: 'The write surely did not happen (the target refused it).',
		nextAction: 'Fix the cause shown in the execution, then replay.',
	},
	write_timeout: {
		label: 'Write outcome unknown',
		explanation: 'The write timed out: the target may have committed it anyway.',
		nextAction: 'Check the target system: if the record exists, resolve as markProcessed (with its id); if not, replay.',
	},
	custom: {
		label: 'Needs a look',
		explanation: 'A workflow flagged this item for a person.',
		nextAction: 'Open the execution and decide.',
	},
};

/**
 * `in_progress` when the Guard found that the key is held by a test run in the editor (its
 * `_idempotency.heldBy.testRun`): not "another execution" a person should wait for.
 */
export const HELD_BY_TEST_RUN: ReasonText = {
	label: 'Held by a test run',
	explanation: 'A test run of the workflow in the editor claimed this key and nothing marked it processed, so the claim holds until its lease ends.',
	nextAction:
		'If that test run wrote to the target system, resolve as markProcessed; if not, resolve as replay (or release the key in the State Ledger). A test run of the same workflow takes such keys back by itself.',
};

/** The words for a reason, told apart by what is known about the key's holder. */
export function reasonTextFor(code: string, holder: { heldByTestRun?: boolean } = {}): ReasonText {
	return code === 'in_progress' && holder.heldByTestRun ? HELD_BY_TEST_RUN : reasonText(code);
}

export function reasonText(code: string): ReasonText {
	return (
		(Object.prototype.hasOwnProperty.call(REASONS, code) ? REASONS[code as ReasonCode] : undefined) ?? {
			label: code,
			explanation: `Reason "${code}".`,
			nextAction: 'Open the execution and decide.',
		}
	);
}
