// Resolve from Slack, the pure part: the request signature against Slack's documented example and
// the ways a request can be wrong (tampered body, wrong secret, too old, unsigned), which clicks
// are ours, who clicked, the allow list, and the messages sent back.

import { ACTION_PREFIX, resolveButtons, slackMessage } from '../../nodes/shared/engine/slack';
import { readInteraction, resolvedMessage, slackResolvedBy, userAllowed, verifySlackRequest } from '../../nodes/shared/engine/slackActions';
import type { ExceptionRecord } from '../../nodes/shared/store/types';
import { blockKitProblems } from '../helpers/blockKit';

// https://api.slack.com/authentication/verifying-requests-from-slack — the worked example.
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TIMESTAMP = '1531420618';
const BODY =
	'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const AT = Number(TIMESTAMP) * 1000;

const verify = (over: Partial<Parameters<typeof verifySlackRequest>[0]> = {}) =>
	verifySlackRequest({ signingSecret: SECRET, signature: SIGNATURE, timestamp: TIMESTAMP, rawBody: Buffer.from(BODY), now: AT + 1000, ...over });

describe('the Slack request signature', () => {
	it("accepts Slack's documented example", () => {
		expect(verify()).toEqual({ ok: true });
		// Headers as n8n may hand them over: an array, surrounding space.
		expect(verify({ signature: [` ${SIGNATURE} `], timestamp: [TIMESTAMP] })).toEqual({ ok: true });
	});

	it('refuses a tampered body, a wrong secret, an altered signature', () => {
		expect(verify({ rawBody: Buffer.from(BODY.replace('user_id=U2CERLKJA', 'user_id=U0BADGUY1')) })).toMatchObject({ ok: false, refusal: 'bad_signature' });
		expect(verify({ rawBody: Buffer.from(`${BODY}&x=1`) })).toMatchObject({ ok: false, refusal: 'bad_signature' });
		expect(verify({ signingSecret: '8f742231b10e8888abcd99yyyzzz85a6' })).toMatchObject({ ok: false, refusal: 'bad_signature' });
		expect(verify({ signature: SIGNATURE.replace(/.$/, '4') })).toMatchObject({ ok: false, refusal: 'bad_signature' });
		expect(verify({ signature: SIGNATURE.slice(0, -2) })).toMatchObject({ ok: false, refusal: 'bad_signature' });
		expect(verify({ signature: SIGNATURE.replace('v0=', 'v1=') })).toMatchObject({ ok: false, refusal: 'bad_signature' });
	});

	it('refuses a request signed with another timestamp than the one it carries (a replay with a fresh header)', () => {
		const later = String(Number(TIMESTAMP) + 60);
		expect(verify({ timestamp: later, now: AT + 60_000 })).toMatchObject({ ok: false, refusal: 'bad_signature' });
	});

	it('refuses a request more than five minutes old or ahead, and one without signature headers', () => {
		expect(verify({ now: AT + 5 * 60_000 })).toEqual({ ok: true });
		expect(verify({ now: AT + 5 * 60_000 + 1001 })).toMatchObject({ ok: false, refusal: 'stale' });
		expect(verify({ now: AT - 5 * 60_000 - 1001 })).toMatchObject({ ok: false, refusal: 'stale' });
		expect(verify({ signature: undefined })).toMatchObject({ ok: false, refusal: 'unsigned' });
		expect(verify({ timestamp: '' })).toMatchObject({ ok: false, refusal: 'unsigned' });
		expect(verify({ timestamp: '1531420618.5' })).toMatchObject({ ok: false, refusal: 'unsigned' });
	});
});

const payloadBody = (payload: unknown) => Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
const click = (actions: unknown[], user: unknown = { id: 'U2CERLKJA', username: 'roadrunner', name: 'roadrunner' }) =>
	payloadBody({ type: 'block_actions', user, actions, response_url: 'https://hooks.slack.com/actions/T1/2/abc' });

describe('reading a click', () => {
	const id = '0f8fad5b-d9cb-469f-a165-70867728950e';

	it('reads our button: the resolution, the exception id, who clicked, where to answer', () => {
		const [markProcessed] = resolveButtons(id);
		expect(readInteraction(click([{ ...markProcessed, action_ts: '1.2' }]))).toEqual({
			ours: true,
			resolution: 'markProcessed',
			exceptionId: id,
			user: { id: 'U2CERLKJA', name: 'roadrunner' },
			responseUrl: 'https://hooks.slack.com/actions/T1/2/abc',
			actionTs: '1.2',
		});
	});

	it("ignores other apps' buttons, other interactions, slash commands, and a value that does not match its button", () => {
		expect(readInteraction(click([{ action_id: 'approve_invoice', value: 'x' }]))).toMatchObject({ ours: false, message: expect.stringContaining('approve_invoice') });
		expect(readInteraction(payloadBody({ type: 'view_submission', user: { id: 'U1' } }))).toMatchObject({ ours: false });
		expect(readInteraction(Buffer.from(BODY))).toMatchObject({ ours: false, message: expect.stringContaining('No payload') });
		expect(readInteraction(Buffer.from('payload=%7Bnot-json'))).toMatchObject({ ours: false });
		expect(readInteraction(click([{ action_id: `${ACTION_PREFIX}replay`, value: `discard:${id}` }]))).toMatchObject({ ours: false });
		expect(readInteraction(click([{ action_id: `${ACTION_PREFIX}teleport`, value: `teleport:${id}` }]))).toMatchObject({ ours: false });
		expect(readInteraction(click([{ action_id: `${ACTION_PREFIX}replay`, value: 'replay:' }]))).toMatchObject({ ours: false });
		expect(readInteraction(click([{ action_id: `${ACTION_PREFIX}replay`, value: `replay:${id}` }], {}))).toMatchObject({ ours: false, message: expect.stringContaining('no Slack user') });
	});

	it('remembers the user as handle (id), and checks the allow list by id or handle', () => {
		expect(slackResolvedBy({ id: 'U2CERLKJA', name: 'roadrunner' })).toBe('roadrunner (U2CERLKJA)');
		expect(slackResolvedBy({ id: 'U2CERLKJA', name: null })).toBe('U2CERLKJA');
		const user = { id: 'U2CERLKJA', name: 'RoadRunner' };
		expect(userAllowed(user, [])).toBe(true);
		expect(userAllowed(user, ['U2CERLKJA'])).toBe(true);
		expect(userAllowed(user, ['@roadrunner'])).toBe(true);
		expect(userAllowed(user, ['U999', 'coyote'])).toBe(false);
		expect(userAllowed({ id: 'U1', name: null }, ['roadrunner'])).toBe(false);
	});
});

describe('the messages', () => {
	const exception: ExceptionRecord = {
		id: '0f8fad5b-d9cb-469f-a165-70867728950e', namespace: 'crm', key: 'INV-7', reason: 'write_timeout', owner: 'U024BE7LH', severity: 'high', route: 'Finance',
		status: 'open', reasons: ['write_timeout'], groupBy: 'keyAndReason', occurrences: 1, firstSeenAt: AT, lastSeenAt: AT, workflowId: 'wf', executionId: '7',
		resolution: null, resolvedBy: null, resolvedVia: null, resolvedAt: null, note: null,
	};

	it('carries the three buttons only when asked, each naming the exception, next to Open execution', () => {
		const plain = slackMessage(exception, { attempt: 1, executionUrl: 'https://n8n.example.com/workflow/wf/executions/7', route: 'Finance' });
		expect(JSON.stringify(plain.blocks)).not.toContain(ACTION_PREFIX);
		const withButtons = slackMessage(exception, { attempt: 1, executionUrl: 'https://n8n.example.com/workflow/wf/executions/7', route: 'Finance', buttons: true });
		expect(blockKitProblems(withButtons)).toEqual([]);
		const actions = withButtons.blocks.find((b) => b.type === 'actions') as { elements: Array<{ action_id: string; value?: string }> };
		expect(actions.elements.map((e) => [e.action_id, e.value])).toEqual([
			[`${ACTION_PREFIX}markProcessed`, `markProcessed:${exception.id}`],
			[`${ACTION_PREFIX}replay`, `replay:${exception.id}`],
			[`${ACTION_PREFIX}discard`, `discard:${exception.id}`],
			['open_execution', undefined],
		]);
		// An exception that was not stored has no id to resolve: no buttons.
		expect(JSON.stringify(slackMessage({ ...exception, id: '' }, { attempt: 1, executionUrl: null, route: 'x', buttons: true }).blocks)).not.toContain(ACTION_PREFIX);
	});

	it('replaces the message with who, what and when, and no buttons', () => {
		const done = { ...exception, status: 'resolved' as const, resolution: 'replay' as const, resolvedBy: 'roadrunner (U2CERLKJA)', resolvedVia: 'slack' as const, resolvedAt: AT + 60_000 };
		const message = resolvedMessage(done, false);
		expect(message.replace_original).toBe(true);
		expect(blockKitProblems(message)).toEqual([]);
		expect(message.text).toContain('Resolved: replayed');
		expect(message.text).toContain('<@U2CERLKJA> from Slack at 2018-07-12 18:37:58 UTC');
		expect(JSON.stringify(message.blocks)).not.toContain('"actions"');
		const again = resolvedMessage({ ...done, resolvedBy: 'jane', resolvedVia: 'person' }, true);
		expect(again.text).toContain('Already resolved: replayed');
		expect(again.text).toContain('by jane at');
		expect(JSON.stringify(again.blocks)).toContain('this click changed nothing');
	});
});
