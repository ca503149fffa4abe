// The option lists the editor shows, built from the one list of each kind in the store's types
// (store/types.ts) and the reason texts (engine/reasonTexts.ts). The names are Records over those
// lists' types, so a value without a name, or a name without a value, fails to compile.

import type { INodePropertyOptions } from 'n8n-workflow';
import { REASONS, ROUTABLE_REASONS } from '../engine/reasonTexts';
import {
	EXCEPTION_GROUPINGS,
	RECORD_STATES,
	PERSON_RESOLUTIONS,
	SEVERITIES,
	TRANSITION_KINDS,
	type ExceptionGrouping,
	type RecordState,
	type Severity,
	type TransitionKind,
} from '../store/types';

export function isTransitionKind(operation: string): operation is TransitionKind {
	return (TRANSITION_KINDS as readonly string[]).includes(operation);
}

const RECORD_STATE_NAMES: Record<RecordState, string> = {
	received: 'Received',
	processing: 'Processing',
	processed: 'Processed',
	failed: 'Failed',
};

/** The List operation's State filter: Any, then the states by name. */
export const recordStateOptions: INodePropertyOptions[] = [
	{ name: 'Any', value: '' },
	...RECORD_STATES.map((state) => ({ name: RECORD_STATE_NAMES[state], value: state })).sort((a, b) => a.name.localeCompare(b.name)),
];

const SEVERITY_NAMES: Record<Severity, string> = { low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' };

export const severityOptions: INodePropertyOptions[] = SEVERITIES.map((value) => ({ name: SEVERITY_NAMES[value], value }));

const RESOLUTION_OPTIONS: Record<(typeof PERSON_RESOLUTIONS)[number], Omit<INodePropertyOptions, 'value'>> = {
	replay: { name: 'Replay', description: 'Release the key, so the next delivery is New and writes again' },
	markProcessed: { name: 'Mark Processed', description: 'The write did happen: set the key processed, with an optional result' },
	discard: { name: 'Discard', description: 'Leave the key as it is and close the exception' },
};

/** What a person picks; `reconciled` is only a Reconcile's. */
export const resolutionOptions: INodePropertyOptions[] = PERSON_RESOLUTIONS.map((value) => ({ ...RESOLUTION_OPTIONS[value], value }));

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

export const groupingOptions: INodePropertyOptions[] = EXCEPTION_GROUPINGS.map((value) => ({ ...GROUPING_OPTIONS[value], value }));

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
