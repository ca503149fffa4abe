// Resolve From Slack Action: takes what Slack's interactivity posts to a Webhook when someone
// clicks a button of the Router's message (Options → Slack Buttons), checks that Slack signed it
// (engine/slackActions.ts), resolves the exception as the clicking user — once: a second click or
// a replayed request changes nothing — and gives the message update for Slack's response_url.
// Output Handled: our clicks, each with `slack: { response_url, body }`; Ignored: requests that
// are not Slack's (bad or missing signature, too old) or not our buttons — nothing resolved, and
// no response_url from an unverified request is passed on.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { ephemeralReply, readInteraction, resolvedMessage, slackResolvedBy, userAllowed, verifySlackRequest, type Interaction } from '../../shared/engine/slackActions';
import { actorOf, iso } from '../../shared/n8n/actor';
import { itemError, operationError } from '../../shared/n8n/errors';
import { presentException } from '../../shared/n8n/exceptionItem';
import { errorItem } from '../../shared/n8n/items';
import { presentRecord } from '../../shared/n8n/records';
import { InvalidInputError } from '../../shared/store/errors';
import type { Actor, IdempotencyStore } from '../../shared/store/types';

const show = { operation: ['resolveFromSlack'] };
/** Where n8n's Webhook puts the body with Options → Raw Body on. */
const RAW_BODY = 'data';
export const SLACK_CREDENTIAL = 'idempotencySlackApi';

export const description: INodeProperties[] = [
	{
		displayName:
			'Put this after a Webhook (POST, Respond: Immediately, Options → Raw Body on) whose URL is your Slack app\'s Interactivity Request URL. Then send each Handled item to Slack with an HTTP Request node: POST to {{ $json.slack.response_url }} with the JSON body {{ $json.slack.body }}.',
		name: 'resolveFromSlackNotice',
		type: 'notice',
		default: '',
		displayOptions: { show },
	},
	{
		displayName: 'Allowed Slack Users',
		name: 'allowedUsers',
		type: 'string',
		default: '',
		placeholder: 'U024BE7LH, jane.doe',
		description:
			'Slack user IDs or handles who may resolve, separated by commas; empty: anyone who can see the message. Others get a note only they see, and nothing changes.',
		displayOptions: { show },
	},
];

/** Handled, then Ignored. */
export const outputCount = () => 2;

async function rawBodyOf(ctx: IExecuteFunctions, item: INodeExecutionData, itemIndex: number): Promise<Buffer> {
	const binary = item.binary?.[RAW_BODY];
	if (!binary) {
		throw new InvalidInputError(
			'The item has no raw body (binary property "data"): the signature cannot be checked without the body exactly as Slack sent it',
			"Turn on Options → Raw Body in the Webhook node that receives Slack's requests.",
		);
	}
	// Kept by n8n's binary data manager (filesystem or S3 mode), or inline as base64.
	return binary.id ? ctx.helpers.getBinaryDataBuffer(itemIndex, RAW_BODY) : Buffer.from(binary.data ?? '', 'base64');
}

function headerOf(item: INodeExecutionData, name: string): unknown {
	const headers = (item.json.headers ?? {}) as IDataObject;
	return headers[name] ?? headers[name.toLowerCase()];
}

/** What one click of ours does, and what Slack is told. */
async function handleClick(
	store: IdempotencyStore,
	click: Extract<Interaction, { ours: true }>,
	allowed: readonly string[],
	actor: Actor,
	nodeName: string,
): Promise<IDataObject> {
	const base = { exceptionId: click.exceptionId, resolution: click.resolution, user: { ...click.user } };
	const answer = (outcome: string, body: object, more: IDataObject = {}): IDataObject => ({
		outcome,
		...base,
		...more,
		slack: { response_url: click.responseUrl, body: body as IDataObject },
	});
	if (!userAllowed(click.user, allowed)) {
		return answer(
			'not_allowed',
			ephemeralReply(`You are not on the list of people who may resolve these exceptions (Allowed Slack Users of "${nodeName}" in n8n). Nothing was changed.`),
		);
	}
	const result = await store.resolveException(
		{
			id: click.exceptionId,
			namespace: null,
			key: null,
			resolution: click.resolution,
			resolvedBy: slackResolvedBy(click.user),
			resolvedVia: 'slack',
			note: null,
			resultJson: null,
		},
		actor,
	);
	const record = result.record ? presentRecord(result.record) : null;
	if (result.refused === 'live_claim') {
		const until = result.record?.leaseUntil ? ` until ${iso(result.record.leaseUntil)}` : '';
		return answer(
			'refused',
			ephemeralReply(
				`Replay refused: key "${result.record?.key ?? ''}" is still being processed (its claim is live${until}). Releasing it now would let the next delivery write while that run may still be writing. The exception stays open: click Replay again once the lease has run out, or Mark processed if the write did happen.`,
			),
			{ record },
		);
	}
	const resolved = result.exceptions.find((e) => e.id === click.exceptionId) ?? result.exceptions[0];
	if (resolved) return answer('resolved', resolvedMessage(resolved, false), { exception: presentException(resolved, null), record });
	// Nothing was open: resolved meanwhile (another click, a replayed request, the Resolve operation).
	const existing = await store.getException(click.exceptionId);
	if (!existing) {
		return answer('unknown_exception', ephemeralReply('This exception is no longer in the store (its namespace may have been purged). Nothing was changed.'));
	}
	return answer('already_resolved', resolvedMessage(existing, true), { exception: presentException(existing, null), record });
}

export async function execute(this: IExecuteFunctions, store: IdempotencyStore): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const credentials = await this.getCredentials(SLACK_CREDENTIAL);
	const signingSecret = String(credentials?.signingSecret ?? '').trim();
	if (!signingSecret) {
		throw operationError(this.getNode(), 'The Idempotency Slack App credential has no signing secret', {
			hint: 'Copy it from your Slack app → Basic Information → App Credentials → Signing Secret.',
		});
	}
	const allowed = String(this.getNodeParameter('allowedUsers', 0, '') ?? '')
		.split(',')
		.map((entry) => entry.trim())
		.filter(Boolean);
	const actor = actorOf(this);
	const handled: INodeExecutionData[] = [];
	const ignored: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const pairedItem = { item: i };
		try {
			const rawBody = await rawBodyOf(this, items[i], i);
			const check = verifySlackRequest({
				signingSecret,
				signature: headerOf(items[i], 'x-slack-signature'),
				timestamp: headerOf(items[i], 'x-slack-request-timestamp'),
				rawBody,
				// Slack's rule compares with the receiver's own clock.
				now: Date.now(),
			});
			if (!check.ok) {
				ignored.push({ json: { ignored: check.refusal, message: check.message }, pairedItem });
				continue;
			}
			const click = readInteraction(rawBody);
			if (!click.ours) {
				// Signed by Slack, for someone else: passed on whole, for another branch to handle.
				const payload = new URLSearchParams(rawBody.toString('utf8')).get('payload');
				let parsed: unknown = payload;
				try {
					parsed = payload ? JSON.parse(payload) : null;
				} catch {
					// Kept as text.
				}
				ignored.push({ json: { ignored: 'not_ours', message: click.message, payload: parsed as IDataObject }, pairedItem });
				continue;
			}
			handled.push({ json: await handleClick(store, click, allowed, actor, this.getNode().name), pairedItem });
		} catch (error) {
			const problem = itemError(this, error, i);
			if (!this.continueOnFail()) throw problem;
			handled.push(errorItem(items, i, problem));
		}
	}
	return [handled, ignored];
}
