// Keys from a webhook provider (docs/CONTRACT.md §12): each preset names the one delivery or event id its
// provider documents as the same on every retry, and where in the n8n Webhook node's output
// item (`{ headers, params, query, body }`) it lives. The id then goes through the common key
// builder (keys.ts), so normalisation and hashing are the same as for any other key.
// Pure: no I/O, no n8n types.

import { buildKeyFromValue, keyPart, type KeyResult, type NormalizeStep } from './keys';

export const WEBHOOK_PROVIDERS = [
	'standardWebhooks',
	'svix',
	'stripe',
	'github',
	'shopify',
	'slack',
	'typeform',
	'hubspot',
	'twilio',
	'customHeader',
] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

export interface ProviderKeySource {
	provider: WebhookProvider;
	/** Only for customHeader: the header to read, any case. */
	headerName?: string;
}

type Lookup =
	| { in: 'header'; name: string }
	/** `hubspot`: the item may be one event (after Split Out), or a webhook body holding one. */
	| { in: 'body'; field: string; eachEvent?: boolean; prefix?: string };

interface Preset {
	label: string;
	lookup: Lookup;
}

const PRESETS: Record<Exclude<WebhookProvider, 'customHeader'>, Preset> = {
	standardWebhooks: { label: 'Standard Webhooks', lookup: { in: 'header', name: 'webhook-id' } },
	svix: { label: 'Svix', lookup: { in: 'header', name: 'svix-id' } },
	stripe: { label: 'Stripe', lookup: { in: 'body', field: 'id', prefix: 'evt_' } },
	github: { label: 'GitHub', lookup: { in: 'header', name: 'x-github-delivery' } },
	// X-Shopify-Event-Id, not X-Shopify-Webhook-Id: Shopify's "Ignore duplicate webhooks" page
	// names the event id as the one whose repeat marks a duplicate (README, provider table).
	shopify: { label: 'Shopify', lookup: { in: 'header', name: 'x-shopify-event-id' } },
	slack: { label: 'Slack', lookup: { in: 'body', field: 'event_id' } },
	typeform: { label: 'Typeform', lookup: { in: 'body', field: 'event_id' } },
	hubspot: { label: 'HubSpot', lookup: { in: 'body', field: 'eventId', eachEvent: true } },
	twilio: { label: 'Twilio', lookup: { in: 'header', name: 'i-twilio-idempotency-token' } },
};

type Found = { ok: true; value: unknown; where: string } | { ok: false; problem: string };

export function isWebhookProvider(value: unknown): value is WebhookProvider {
	return typeof value === 'string' && (WEBHOOK_PROVIDERS as readonly string[]).includes(value);
}

/** A header name as n8n receives it: trimmed, lower case. Empty when none is set. */
export function normalizeHeaderName(name: unknown): string {
	return typeof name === 'string' ? name.trim().toLowerCase() : '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readHeader(json: unknown, name: string): Found {
	const headers = isRecord(json) ? json.headers : undefined;
	if (!isRecord(headers)) {
		return {
			ok: false,
			problem: `header ${name} is missing: the item has no headers (put the Guard right after the Webhook node, or keep "headers" when you reshape the item)`,
		};
	}
	// Node lower-cases incoming header names, but an item may have been rebuilt by hand.
	const match = Object.keys(headers).find((key) => key.toLowerCase() === name);
	if (match === undefined) return { ok: false, problem: `header ${name} is missing` };
	let value = headers[match];
	if (Array.isArray(value)) {
		if (value.length !== 1) return { ok: false, problem: `header ${name} came ${value.length} times, not once` };
		value = value[0];
	}
	return { ok: true, value, where: `header ${name}` };
}

// The event object and the path it was found at: the Webhook node's `body`, or the item itself
// when it already is the event (n8n's own trigger nodes, or after Split Out).
function eventOf(json: unknown, eachEvent: boolean): { event: unknown; path: string } | { problem: string } {
	if (!isRecord(json)) return { problem: 'the item is not an object' };
	const body = json.body;
	if (body === undefined) return { event: json, path: '' };
	if (Array.isArray(body)) {
		if (eachEvent && body.length === 1) return { event: body[0], path: 'body[0].' };
		if (eachEvent) {
			return {
				problem: `body is a list of ${body.length} events, not one: split it first (Split Out, field "body") so that each item is one event`,
			};
		}
		return { problem: 'body is a list, not one event' };
	}
	if (!isRecord(body)) return { problem: 'body is not a JSON object (is the webhook sending JSON?)' };
	return { event: body, path: 'body.' };
}

function readBodyField(json: unknown, field: string, eachEvent: boolean): Found {
	const located = eventOf(json, eachEvent);
	if ('problem' in located) return { ok: false, problem: `cannot read ${field}: ${located.problem}` };
	const where = `${located.path}${field}`;
	const value = isRecord(located.event) ? located.event[field] : undefined;
	return { ok: true, value, where };
}

function locate(json: unknown, lookup: Lookup): Found {
	return lookup.in === 'header' ? readHeader(json, lookup.name) : readBodyField(json, lookup.field, lookup.eachEvent === true);
}

function labelOf(source: ProviderKeySource): string {
	return source.provider === 'customHeader' ? 'Custom Header' : PRESETS[source.provider].label;
}

function lookupOf(source: ProviderKeySource): Lookup {
	if (source.provider === 'customHeader') return { in: 'header', name: normalizeHeaderName(source.headerName) };
	return PRESETS[source.provider].lookup;
}

// Slack's one-off URL check carries no event_id; naming it saves a puzzled user a search.
function hint(source: ProviderKeySource, json: unknown): string {
	if (source.provider === 'slack' && isRecord(json) && isRecord(json.body) && json.body.type === 'url_verification') {
		return ' (this is Slack\'s url_verification request: answer body.challenge before the Guard)';
	}
	return '';
}

/**
 * The key of one item from the provider's delivery or event id. A missing or unusable id is a
 * problem naming the preset and the field looked for; it never becomes a key of its own.
 */
export function buildKeyFromProvider(
	json: unknown,
	source: ProviderKeySource,
	steps: readonly NormalizeStep[],
	hashKeys: boolean,
): KeyResult {
	const label = `${labelOf(source)} preset`;
	const lookup = lookupOf(source);
	const found = locate(json, lookup);
	if (!found.ok) return { ok: false, problem: `${label}: ${found.problem}${hint(source, json)}` };
	const part = keyPart(found.value, steps);
	if (!part.ok) return { ok: false, problem: `${label}: ${found.where} ${part.problem}${hint(source, json)}` };
	if (lookup.in === 'body' && lookup.prefix && !part.part.startsWith(lookup.prefix)) {
		return {
			ok: false,
			problem: `${label}: ${found.where} is "${part.part.slice(0, 40)}", not an event id (${lookup.prefix}…) — is this item a ${labelOf(source)} event?`,
		};
	}
	return buildKeyFromValue(found.value, steps, hashKeys);
}
