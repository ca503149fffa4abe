// A ready Slack message (Block Kit) for an exception: reason in words, owner mention, key,
// attempt, when, a link to the execution and the suggested next action. Pure.

import type { ExceptionRecord } from '../store/types';
import { reasonText } from './reasonTexts';

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

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

export function slackMessage(
	exception: Pick<ExceptionRecord, 'id' | 'namespace' | 'key' | 'reason' | 'owner' | 'severity' | 'occurrences' | 'firstSeenAt' | 'lastSeenAt'> &
		Partial<Pick<ExceptionRecord, 'reasons'>>,
	context: { attempt: number | null; executionUrl: string | null; route: string },
): SlackMessage {
	const reason = reasonText(exception.reason);
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
	if (context.executionUrl && /^https?:\/\//.test(context.executionUrl) && context.executionUrl.length <= 3000) {
		blocks.push({
			type: 'actions',
			elements: [
				{ type: 'button', text: { type: 'plain_text', text: 'Open execution', emoji: false }, url: context.executionUrl, action_id: 'open_execution' },
			],
		});
	}
	blocks.push({
		type: 'context',
		elements: [{ type: 'mrkdwn', text: clip(`Exception ${exception.id ?? '(not stored)'} · route ${escapeMrkdwn(context.route)}`, 3000) }],
	});
	return { text, blocks };
}
