// The lists the editor offers and the nodes check against, each from one source: the store's
// types (a missing or extra entry fails to compile) and the reason texts (engine/reasons.ts).

import type { INodePropertyOptions } from 'n8n-workflow';
import { REASONS, ROUTABLE_REASONS } from '../engine/reasons';
import { RecordState, type ExceptionGrouping, type Resolution, type Severity, type TransitionKind } from '../store/types';

/** A list of every member of the union T, each once: a member left out fails to compile. */
function everyOf<T extends string>() {
	return <L extends readonly T[]>(list: L & ([Exclude<T, L[number]>] extends [never] ? unknown : { missing: Exclude<T, L[number]> })): L =>
		list;
}

/** The State Ledger's transitions, in the order its Operation list shows them. */
export const TRANSITION_KINDS = everyOf<TransitionKind>()(['markProcessed', 'markFailed', 'markReceived', 'release'] as const);

export function isTransitionKind(operation: string): operation is TransitionKind {
	return (TRANSITION_KINDS as readonly string[]).includes(operation);
}

const RECORD_STATE_NAMES: Record<RecordState, string> = {
	received: 'Received',
	processing: 'Processing',
	processed: 'Processed',
	failed: 'Failed',
};

/** The record states as the store knows them, in the store's order (for messages). */
export const RECORD_STATES = Object.values(RecordState);

/** The List operation's State filter: Any, then the states by name. */
export const recordStateOptions: INodePropertyOptions[] = [
	{ name: 'Any', value: '' },
	...RECORD_STATES.map((state) => ({ name: RECORD_STATE_NAMES[state], value: state })).sort((a, b) => a.name.localeCompare(b.name)),
];

const SEVERITY_NAMES: Record<Severity, string> = { low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' };

/** Severities from the least to the most urgent. */
export const SEVERITIES = Object.keys(SEVERITY_NAMES) as Severity[];
export const severityOptions: INodePropertyOptions[] = SEVERITIES.map((value) => ({ name: SEVERITY_NAMES[value], value }));

const RESOLUTION_OPTIONS: Record<Resolution, Omit<INodePropertyOptions, 'value'>> = {
	replay: { name: 'Replay', description: 'Release the key, so the next delivery is New and writes again' },
	markProcessed: { name: 'Mark Processed', description: 'The write did happen: set the key processed, with an optional result' },
	discard: { name: 'Discard', description: 'Leave the key as it is and close the exception' },
};

export const RESOLUTIONS = Object.keys(RESOLUTION_OPTIONS) as Resolution[];
export const resolutionOptions: INodePropertyOptions[] = RESOLUTIONS.map((value) => ({ ...RESOLUTION_OPTIONS[value], value }));

const GROUPING_OPTIONS: Record<ExceptionGrouping, Omit<INodePropertyOptions, 'value'>> = {
	keyAndReason: {
		name: 'Key and Reason',
		description: 'One open exception per key and reason: a key that times out, then shows up in progress, is two exceptions',
	},
	key: {
		name: 'Key',
		description: 'One open incident per key: its reasons are listed and its occurrences counted, one Slack message',
	},
};

/** How the Router groups repeats; the first is the default. */
export const GROUPINGS = Object.keys(GROUPING_OPTIONS) as ExceptionGrouping[];
export const groupingOptions: INodePropertyOptions[] = GROUPINGS.map((value) => ({ ...GROUPING_OPTIONS[value], value }));

/** The reason codes a Router rule (or a fixed reason) can name, with what each means. */
export const reasonOptions: INodePropertyOptions[] = ROUTABLE_REASONS.map((code) => ({
	name: code,
	value: code,
	description: REASONS[code].explanation,
}));

/** "a, b or c" for an error message. */
export function oneOf(values: readonly string[]): string {
	return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}
