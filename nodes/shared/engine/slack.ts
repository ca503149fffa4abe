// A ready Slack message (Block Kit) for an exception: reason in words, owner mention, key,
// attempt, when, a link to the execution and the suggested next action, and — as an option — the
// buttons that resolve it from Slack (slackActions.ts reads their clicks). Pure.

import type { ExceptionRecord } from '../store/types';
import { reasonText, reasonTextFor } from './reasonTexts';

export interface SlackMessage {
	text: string;
	blocks: Array<Record<string, unknown>>;
}

const SEVERITY_MARK: Record<string, string> = {
	low: ':white_circle:',
	medium: ':large_yellow_circle:',
	high: ':large_orange_circle:',
	critical: ':red_circle:',
};

/** Escapes text for mrkdwn: &, < and > are control characters there. */
export function escapeMrkdwn(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack user (U…/W…) becomes a mention, a channel (C…/G…) a link, a user group (S…) a group mention. */
export function ownerMention(owner: string): string {
	const id = owner.trim();
	if (/^[UW][A-Z0-9]{6,}$/.test(id)) return `<@${id}>`;
	if (/^[CG][A-Z0-9]{6,}$/.test(id)) return `<#${id}>`;
	if (/^S[A-Z0-9]{6,}$/.test(id)) return `<!subteam^${id}>`;
	return escapeMrkdwn(id || 'nobody');
}

/** Every action_id of ours starts so; other apps' buttons posting to the same URL do not. */
export const ACTION_PREFIX = 'idempotency.resolve.';
/** A button's value holds at most 2000 characters (Block Kit). */
const MAX_VALUE = 2000;

/** The resolutions a button offers, in the order shown. */
export const BUTTON_RESOLUTIONS = ['markProcessed', 'replay', 'discard'] as const;
export type ButtonResolution = (typeof BUTTON_RESOLUTIONS)[number];

const BUTTON_LABEL: Record<ButtonResolution, string> = { markProcessed: 'Mark processed', replay: 'Replay', discard: 'Discard' };

/** The three buttons for an exception, or none when its id is unknown or would not fit a value. */
export function resolveButtons(exceptionId: string): Array<Record<string, unknown>> {
	if (!exceptionId || exceptionId.length + 20 > MAX_VALUE) return [];
	return BUTTON_RESOLUTIONS.map((resolution) => {
		const button: Record<string, unknown> = {
			type: 'button',
			text: { type: 'plain_text', text: BUTTON_LABEL[resolution], emoji: false },
			action_id: `${ACTION_PREFIX}${resolution}`,
			value: `${resolution}:${exceptionId}`,
		};
		if (resolution === 'markProcessed') button.style = 'primary';
		if (resolution !== 'markProcessed') {
			// Replay writes again; Discard leaves a write undone: both are asked twice.
			button.confirm = {
				title: { type: 'plain_text', text: `${BUTTON_LABEL[resolution]}?` },
				text: {
					type: 'plain_text',
					text:
						resolution === 'replay'
							? 'The key is released and the next delivery writes again. Only if the write did not happen.'
							: 'The exception is closed and the key left as it is.',
				},
				confirm: { type: 'plain_text', text: BUTTON_LABEL[resolution] },
				deny: { type: 'plain_text', text: 'Cancel' },
			};
		}
		return button;
	});
}

/** Text cut to Slack's limit, with an ellipsis. */
export const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
/** A time as the messages show it: `2026-12-06 22:31:45 UTC`. */
export const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

export function slackMessage(
	exception: Pick<ExceptionRecord, 'id' | 'namespace' | 'key' | 'reason' | 'owner' | 'severity' | 'occurrences' | 'firstSeenAt' | 'lastSeenAt'> &
		Partial<Pick<ExceptionRecord, 'reasons'>>,
	context: { attempt: number | null; executionUrl: string | null; route: string; buttons?: boolean; heldByTestRun?: boolean },
): SlackMessage {
	const reason = reasonTextFor(exception.reason, context);
	const mark = SEVERITY_MARK[exception.severity] ?? '';
	const owner = ownerMention(exception.owner);
	const key = clip(exception.key, 500);
	// An incident grouped by key (docs/CONTRACT.md §12) names every reason it was seen with, first seen first.
	const reasons = exception.reasons && exception.reasons.length > 1 ? exception.reasons : null;
	const text = clip(
		`${mark} ${reason.label} (${exception.reason}) for key ${key} in ${exception.namespace} — owner ${owner}.` +
			(reasons ? ` Reasons: ${reasons.map(escapeMrkdwn).join(', ')}.` : '') +
			` ${reason.nextAction}`,
		3000,
	);
	const fields = [
		`*Owner*\n${owner}`,
		`*Severity*\n${exception.severity}`,
		`*Key*\n\`${escapeMrkdwn(key).replace(/`/g, "'")}\``,
		`*Namespace*\n${escapeMrkdwn(clip(exception.namespace, 200))}`,
		`*Attempt*\n${context.attempt ?? '–'}`,
		`*Occurrences*\n${exception.occurrences}`,
		`*First seen*\n${when(exception.firstSeenAt)}`,
		`*Last seen*\n${when(exception.lastSeenAt)}`,
		...(reasons ? [`*Reasons*\n${reasons.map((r) => `${escapeMrkdwn(reasonText(r).label)} (\`${escapeMrkdwn(r)}\`)`).join('\n')}`] : []),
	].map((field) => ({ type: 'mrkdwn', text: clip(field, 2000) }));

	const blocks: Array<Record<string, unknown>> = [
		{ type: 'header', text: { type: 'plain_text', text: clip(`Idempotency exception: ${reason.label}`, 150), emoji: true } },
		{
			type: 'section',
			text: { type: 'mrkdwn', text: clip(`${mark} *${escapeMrkdwn(reason.label)}* (\`${exception.reason}\`) — ${escapeMrkdwn(reason.explanation)}`, 3000) },
		},
		{ type: 'section', fields },
		{ type: 'section', text: { type: 'mrkdwn', text: clip(`*Suggested next action:* ${escapeMrkdwn(reason.nextAction)}`, 3000) } },
	];
	const elements: Array<Record<string, unknown>> = context.buttons ? resolveButtons(exception.id) : [];
	if (context.executionUrl && /^https?:\/\//.test(context.executionUrl) && context.executionUrl.length <= 3000) {
		elements.push({ type: 'button', text: { type: 'plain_text', text: 'Open execution', emoji: false }, url: context.executionUrl, action_id: 'open_execution' });
	}
	if (elements.length > 0) blocks.push({ type: 'actions', elements });
	blocks.push({
		type: 'context',
		elements: [{ type: 'mrkdwn', text: clip(`Exception ${exception.id ?? '(not stored)'} · route ${escapeMrkdwn(context.route)}`, 3000) }],
	});
	return { text, blocks };
}
