// Resolve from Slack, the pure part: the buttons the Router's message carries, the check of a
// request Slack's interactivity sends (its signature over the raw body, its age), reading which
// of our buttons was clicked and by whom, and the messages sent back through `response_url`.
// Slack's rules: https://api.slack.com/authentication/verifying-requests-from-slack. No I/O,
// no clock: `now` is given.

import { createHmac, timingSafeEqual } from 'crypto';
import type { ExceptionRecord, Resolution } from '../store/types';
import { ACTION_PREFIX, BUTTON_RESOLUTIONS, clip, escapeMrkdwn, ownerMention, when, type ButtonResolution, type SlackMessage } from './slack';

/** Slack's advice: a request older than five minutes may be a replay. */
export const MAX_REQUEST_AGE_S = 5 * 60;

const RESOLUTION_WORDS: Record<Resolution, string> = {
	markProcessed: 'marked processed (the write did happen)',
	replay: 'replayed (the key is released: the next delivery writes again)',
	discard: 'discarded (the key is left as it is)',
	reconciled: 'reconciled (the write was found in the target system)',
};

export type RequestRefusal = 'unsigned' | 'stale' | 'bad_signature';

export interface SlackRequest {
	signingSecret: string;
	/** X-Slack-Signature, e.g. `v0=a2114d…`. */
	signature: unknown;
	/** X-Slack-Request-Timestamp, seconds. */
	timestamp: unknown;
	/** The body exactly as received. */
	rawBody: Buffer;
	/** Epoch ms. */
	now: number;
}

export type Verification = { ok: true } | { ok: false; refusal: RequestRefusal; message: string };

const header = (value: unknown): string | null => {
	const text = Array.isArray(value) ? value[0] : value;
	return typeof text === 'string' && text.trim() ? text.trim() : null;
};

/** `v0=` + HMAC-SHA256(signing secret, `v0:<timestamp>:<raw body>`), compared in constant time; at most five minutes old. */
export function verifySlackRequest(request: SlackRequest): Verification {
	const signature = header(request.signature);
	const timestamp = header(request.timestamp);
	if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) {
		return { ok: false, refusal: 'unsigned', message: 'The request carries no X-Slack-Signature or X-Slack-Request-Timestamp: it does not come from Slack' };
	}
	if (Math.abs(request.now / 1000 - Number(timestamp)) > MAX_REQUEST_AGE_S) {
		return { ok: false, refusal: 'stale', message: `The request was signed at ${new Date(Number(timestamp) * 1000).toISOString()}, more than five minutes from now: refused as a possible replay` };
	}
	const expected = Buffer.from(
		`v0=${createHmac('sha256', request.signingSecret).update(`v0:${timestamp}:`).update(request.rawBody).digest('hex')}`,
		'utf8',
	);
	const given = Buffer.from(signature, 'utf8');
	if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
		return { ok: false, refusal: 'bad_signature', message: 'The request signature does not match the signing secret: forged, altered, or signed by another Slack app' };
	}
	return { ok: true };
}

export interface SlackUser {
	id: string;
	/** The handle (`username`), or the name Slack gave. */
	name: string | null;
}

export type Interaction =
	| { ours: true; resolution: ButtonResolution; exceptionId: string; user: SlackUser; responseUrl: string | null; actionTs: string | null }
	| { ours: false; message: string };

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value.trim() : null);

/** Which of our buttons a (verified) interaction clicked, and who; anything else is not ours. */
export function readInteraction(rawBody: Buffer): Interaction {
	const payloadText = new URLSearchParams(rawBody.toString('utf8')).get('payload');
	if (!payloadText) return { ours: false, message: 'No payload field: not an interactivity request (a slash command or event goes elsewhere)' };
	let payload: Record<string, unknown>;
	try {
		payload = JSON.parse(payloadText) as Record<string, unknown>;
	} catch {
		return { ours: false, message: 'The payload field is not JSON' };
	}
	if (payload.type !== 'block_actions') return { ours: false, message: `An interaction of type "${String(payload.type)}", not a button click` };
	const actions = Array.isArray(payload.actions) ? (payload.actions as Array<Record<string, unknown>>) : [];
	const action = actions.find((a) => typeof a.action_id === 'string' && a.action_id.startsWith(ACTION_PREFIX));
	if (!action) {
		const ids = actions.map((a) => String(a.action_id)).join(', ') || 'none';
		return { ours: false, message: `A click on another app's or message's button (action_id ${ids})` };
	}
	const resolution = String(action.action_id).slice(ACTION_PREFIX.length) as ButtonResolution;
	const value = text(action.value) ?? '';
	const separator = value.indexOf(':');
	if (!BUTTON_RESOLUTIONS.includes(resolution) || separator < 0 || value.slice(0, separator) !== resolution || !value.slice(separator + 1)) {
		return { ours: false, message: `The button ${String(action.action_id)} carries no exception id of ours` };
	}
	const user = (payload.user ?? {}) as Record<string, unknown>;
	const userId = text(user.id);
	if (!userId) return { ours: false, message: 'The click names no Slack user' };
	return {
		ours: true,
		resolution,
		exceptionId: value.slice(separator + 1),
		user: { id: userId, name: text(user.username) ?? text(user.name) },
		responseUrl: text(payload.response_url),
		actionTs: text(action.action_ts),
	};
}

/** How the clicking user is remembered in `resolvedBy`: `handle (U…)`, or the id alone. */
export function slackResolvedBy(user: SlackUser): string {
	return user.name ? `${user.name} (${user.id})` : user.id;
}

/** Whether a user is on the list (ids or handles, any case for handles); an empty list allows anyone. */
export function userAllowed(user: SlackUser, allowed: readonly string[]): boolean {
	if (allowed.length === 0) return true;
	const handle = user.name?.toLowerCase().replace(/^@/, '');
	return allowed.some((entry) => {
		const e = entry.trim().replace(/^@/, '');
		return e === user.id || (!!handle && e.toLowerCase() === handle);
	});
}

/** `resolvedBy` as Slack shows it: a mention when it names a Slack user, escaped text otherwise. */
function whoText(resolvedBy: string | null): string {
	if (!resolvedBy) return 'someone';
	const id = /\(([UW][A-Z0-9]{6,})\)$/.exec(resolvedBy)?.[1] ?? (/^[UW][A-Z0-9]{6,}$/.test(resolvedBy) ? resolvedBy : null);
	return id ? ownerMention(id) : escapeMrkdwn(resolvedBy);
}


/**
 * The message that replaces the one with the buttons: who resolved it, how, when — and no buttons
 * left. `alreadyResolved`: this click changed nothing, someone had resolved it before.
 */
export function resolvedMessage(exception: ExceptionRecord, alreadyResolved: boolean): { replace_original: true } & SlackMessage {
	const how = exception.resolution ? RESOLUTION_WORDS[exception.resolution] : 'resolved';
	const who = whoText(exception.resolvedBy);
	const via = exception.resolvedVia === 'slack' ? ' from Slack' : exception.resolvedVia === 'reconcile' ? ' by a Reconcile' : '';
	const key = clip(exception.key, 500);
	const headline = `:white_check_mark: ${alreadyResolved ? 'Already resolved' : 'Resolved'}: ${how}, by ${who}${via} at ${exception.resolvedAt === null ? 'an unknown time' : when(exception.resolvedAt)}.`;
	return {
		replace_original: true,
		text: clip(`${headline} Key ${key} in ${exception.namespace}.`, 3000),
		blocks: [
			{ type: 'section', text: { type: 'mrkdwn', text: clip(headline, 3000) } },
			{
				type: 'section',
				fields: [
					`*Key*\n\`${escapeMrkdwn(key).replace(/`/g, "'")}\``,
					`*Namespace*\n${escapeMrkdwn(clip(exception.namespace, 200))}`,
					`*Reason*\n\`${escapeMrkdwn(exception.reason)}\``,
					`*Owner*\n${ownerMention(exception.owner)}`,
				].map((field) => ({ type: 'mrkdwn', text: clip(field, 2000) })),
			},
			{
				type: 'context',
				elements: [
					{
						type: 'mrkdwn',
						text: clip(`Exception ${exception.id}${alreadyResolved ? ' · this click changed nothing' : ''}`, 3000),
					},
				],
			},
		],
	};
}

/** A reply only the clicking user sees; the message and its buttons stay. */
export function ephemeralReply(message: string): { replace_original: false; response_type: 'ephemeral'; text: string } {
	return { replace_original: false, response_type: 'ephemeral', text: clip(message, 3000) };
}
