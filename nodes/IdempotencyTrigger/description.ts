// The Idempotency Trigger's parameters (docs/CONTRACT.md §12). n8n adds the poll settings (pollTimes) to
// every node whose description says `polling: true`.

import type { INodeProperties } from 'n8n-workflow';
import { booleanProperty, optionsCollection } from '../shared/n8n/descriptions';
import { storeProperty } from '../shared/n8n/storeParameters';

const EVENT_OPTIONS = {
	stuckClaims: {
		name: 'Stuck Claims',
		description:
			'A claim is still processing after its lease ran out: the execution that took it crashed or hangs, and may or may not have written. One item per claim, with _idempotency like the Guard gives.',
	},
	exceptions: {
		name: 'Exceptions',
		description:
			'The Exception Router opened an exception, or counted another occurrence of an open one. One item per exception, with exception and slack like the Router gives.',
	},
} as const;

/** What the trigger fires for, in the order it reads the feeds. */
export const EVENTS = Object.keys(EVENT_OPTIONS) as Array<keyof typeof EVENT_OPTIONS>;
export type EventKind = (typeof EVENTS)[number];

export const triggerProperties: INodeProperties[] = [
	{
		displayName:
			'Fires for claims that went stale (processing past their lease: a crash or a hang between the Guard and Mark Processed) and for exceptions the Exception Router opened or saw again. The first poll after activation starts from now; "Fetch Test Event" shows the last 24 hours.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	storeProperty,
	{
		displayName: 'Namespace',
		name: 'namespace',
		type: 'string',
		default: '',
		placeholder: 'e.g. crm-leads',
		description: "The Guard's namespace to watch. Leave empty to watch every namespace of this store.",
	},
	{
		displayName: 'Events',
		name: 'events',
		type: 'multiOptions',
		required: true,
		options: EVENTS.map((value) => ({ ...EVENT_OPTIONS[value], value })),
		default: [...EVENTS],
		description: 'What to fire for; each event fires once',
	},
	optionsCollection([
		booleanProperty(
			'Slack Buttons',
			'slackButtons',
			false,
			"Whether an exception's Slack message carries Mark processed, Replay and Discard buttons, as the Exception Router's Route option does (answered by a workflow with the Resolve From Slack Action). Needs Interactivity in your Slack app.",
		),
	]),
];
