// The Exception Router's Resolve From Slack Action and Reconcile, with a mocked IExecuteFunctions
// and the real stores behind it: a signed click resolves once as the clicking user, anything
// unsigned or not ours changes nothing; a reconcile marks a found write processed and replays a
// missing one only when the lookup could have seen it.

import { createHmac } from 'crypto';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { configuredOutputs } from '../../nodes/ExceptionRouter/actions/versionDescription';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { blockKitProblems } from '../helpers/blockKit';
import { mockContext, type ParameterValue } from '../helpers/n8nContext';
import { nodeTestStores } from '../helpers/nodeStores';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../nodes/shared/store/backends';

let namespace = '';
let store: CredentialKind = 'postgres';
const SECRET = 'e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6';
const { credentials: storeCredentials } = nodeTestStores('loop_node', 'loop', (ns) => {
	namespace = ns;
});
const credentials = { ...storeCredentials, idempotencySlackApi: { signingSecret: SECRET } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function guard(ids: string[], options: IDataObject = {}) {
	const context = mockContext({
		items: ids.map((id) => ({ json: { body: { id } } })),
		parameters: { store, namespace, keySource: 'fields', keyFields: 'body.id', fingerprint: 'none', options },
		credentials,
	});
	return new IdempotencyGuard().execute.call(context);
}

async function router(items: INodeExecutionData[], parameters: Record<string, ParameterValue>, more: { continueOnFail?: boolean; extra?: IDataObject } = {}) {
	const context = mockContext({
		items,
		nodeName: 'Router',
		executionId: 'ex-9',
		parameters: { store, operation: 'route', keySource: 'metadata', reason: 'fromItem', rules: {}, fallbackOwner: 'U024BE7LH', options: {}, ...parameters },
		credentials,
		continueOnFail: more.continueOnFail,
		extra: { getParentNodes: () => [], getWorkflowDataProxy: () => ({}), ...more.extra },
	});
	return new ExceptionRouter().execute.call(context);
}

async function ledger(parameters: Record<string, ParameterValue>) {
	const context = mockContext({ items: [{ json: {} }], parameters: { store, ...parameters }, credentials });
	return new StateLedger().execute.call(context);
}

/** What n8n's Webhook (POST, Raw Body on) gives for a request Slack signed with `secret` at `at` (seconds). */
function webhookItem(body: string, options: { secret?: string; at?: number; signature?: string | null } = {}): INodeExecutionData {
	const at = String(options.at ?? Math.floor(Date.now() / 1000));
	const signature = `v0=${createHmac('sha256', options.secret ?? SECRET).update(`v0:${at}:${body}`).digest('hex')}`;
	const headers: IDataObject = { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': at };
	if (options.signature !== null) headers['x-slack-signature'] = options.signature ?? signature;
	return {
		json: { headers, params: {}, query: {}, body: Object.fromEntries(new URLSearchParams(body)) },
		binary: { data: { data: Buffer.from(body).toString('base64'), mimeType: 'application/x-www-form-urlencoded' } },
	};
}

const RESPONSE_URL = 'https://hooks.slack.com/actions/T1/2/abc';
function clickBody(action: { action_id: string; value?: string }, user = { id: 'U2CERLKJA', username: 'roadrunner' }): string {
	const payload = { type: 'block_actions', user, actions: [{ ...action, type: 'button', action_ts: '1700000000.1' }], response_url: RESPONSE_URL };
	return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The Route output of an ambiguous key, with buttons: its message and its exception id. */
async function routedWithButtons(key: string) {
	await guard([key]);
	const [, , ambiguous] = await guard([key]);
	const [[item]] = await router(ambiguous, { options: { slackButtons: true } });
	const slack = item.json.slack as { blocks: Array<{ type: string; elements?: Array<{ action_id: string; value?: string }> }> };
	const buttons = slack.blocks.find((b) => b.type === 'actions')?.elements ?? [];
	return { id: (item.json.exception as IDataObject).id as string, buttons, slack };
}

const fromSlack = (items: INodeExecutionData[], parameters: Record<string, ParameterValue> = {}, more = {}) =>
	router(items, { operation: 'resolveFromSlack', ...parameters }, more);
const exceptionById = async (id: string) => (await router([{ json: {} }], { operation: 'get', exceptionId: id }))[0][0].json;

describe.each(CREDENTIAL_KINDS)('Resolve From Slack Action on %s', (kind) => {
	beforeAll(() => {
		store = kind;
	});

	it('has two outputs, Handled and Ignored', () => {
		expect(configuredOutputs({ operation: 'resolveFromSlack' }).map((o) => o.displayName)).toEqual(['Handled', 'Ignored']);
	});

	it('a signed click resolves the exception as the clicking user, once; the reply replaces the message without buttons', async () => {
		const { id, buttons, slack } = await routedWithButtons('INV-1');
		expect(blockKitProblems(slack as never)).toEqual([]);
		const markProcessed = buttons.find((b) => b.action_id.endsWith('markProcessed'))!;
		const request = webhookItem(clickBody(markProcessed));
		const [handled, ignored] = await fromSlack([request]);
		expect(ignored).toEqual([]);
		expect(handled[0].json).toMatchObject({
			outcome: 'resolved',
			exceptionId: id,
			resolution: 'markProcessed',
			user: { id: 'U2CERLKJA', name: 'roadrunner' },
			exception: { status: 'resolved', resolution: 'markProcessed', resolvedBy: 'roadrunner (U2CERLKJA)', resolvedVia: 'slack' },
			record: { state: 'processed' },
			slack: { response_url: RESPONSE_URL, body: { replace_original: true } },
		});
		const body = (handled[0].json.slack as IDataObject).body as { text: string; blocks: unknown[] };
		expect(blockKitProblems(body)).toEqual([]);
		expect(body.text).toContain('<@U2CERLKJA> from Slack');
		expect(JSON.stringify(body.blocks)).not.toContain('"actions"');
		expect(handled[0].pairedItem).toEqual({ item: 0 });
		const [history] = await ledger({ operation: 'history', keySource: 'explicit', namespace, key: 'INV-1' });
		expect(history.pop()?.json).toMatchObject({ event: 'forced', detail: { resolution: 'markProcessed', resolvedBy: 'roadrunner (U2CERLKJA)', resolvedVia: 'slack' } });

		// The same request again (Slack retries, or someone replays it within five minutes), and a second click.
		const resolvedAt = (await exceptionById(id)).resolvedAt;
		const [[replayed]] = await fromSlack([request]);
		const [[second]] = await fromSlack([webhookItem(clickBody(buttons.find((b) => b.action_id.endsWith('replay'))!, { id: 'U0OTHER11', username: 'coyote' }))]);
		for (const again of [replayed, second]) {
			expect(again.json).toMatchObject({ outcome: 'already_resolved', exception: { resolvedBy: 'roadrunner (U2CERLKJA)', resolution: 'markProcessed' } });
			expect(((again.json.slack as IDataObject).body as { text: string }).text).toContain('Already resolved: marked processed');
		}
		expect(await exceptionById(id)).toMatchObject({ resolvedAt, resolution: 'markProcessed', resolvedBy: 'roadrunner (U2CERLKJA)' });
		// The key was not released by the second click's Replay.
		const [, duplicate] = await guard(['INV-1']);
		expect(duplicate).toHaveLength(1);
	});

	it('a forged, stale or unsigned click changes nothing and passes no response_url on', async () => {
		const { id, buttons } = await routedWithButtons('INV-2');
		const discard = clickBody(buttons.find((b) => b.action_id.endsWith('discard'))!);
		const tampered = webhookItem(discard);
		tampered.binary!.data.data = Buffer.from(discard.replace('U2CERLKJA', 'U0MALLORY')).toString('base64');
		const [handled, ignored] = await fromSlack([
			webhookItem(discard, { secret: 'another app secret 0123456789abc' }),
			webhookItem(discard, { at: Math.floor(Date.now() / 1000) - 301 }),
			webhookItem(discard, { signature: null }),
			tampered,
		]);
		expect(handled).toEqual([]);
		expect(ignored.map((item) => item.json.ignored)).toEqual(['bad_signature', 'stale', 'unsigned', 'bad_signature']);
		for (const item of ignored) {
			expect(item.json.slack).toBeUndefined();
			expect(item.json.payload).toBeUndefined();
		}
		expect(await exceptionById(id)).toMatchObject({ status: 'open', resolution: null });
	});

	it("passes other apps' clicks to Ignored with their payload; our exception is left alone", async () => {
		const { id } = await routedWithButtons('INV-3');
		const [handled, ignored] = await fromSlack([webhookItem(clickBody({ action_id: 'approve_invoice', value: id }))]);
		expect(handled).toEqual([]);
		expect(ignored[0].json).toMatchObject({ ignored: 'not_ours', payload: { type: 'block_actions', actions: [{ action_id: 'approve_invoice' }] } });
		expect(await exceptionById(id)).toMatchObject({ status: 'open' });
	});

	it('refuses a Replay of a live claim and says why; refuses users off the list; the exception stays open', async () => {
		await guard(['INV-4']);
		const [, , ambiguous] = await guard(['INV-4']); // in_progress: the first claim is live for 300 s
		const [[item]] = await router(ambiguous, { options: { slackButtons: true } });
		const id = (item.json.exception as IDataObject).id as string;
		const replay = { action_id: 'idempotency.resolve.replay', value: `replay:${id}` };
		const [[refused]] = await fromSlack([webhookItem(clickBody(replay))]);
		expect(refused.json).toMatchObject({ outcome: 'refused', slack: { body: { replace_original: false, response_type: 'ephemeral' } } });
		expect(((refused.json.slack as IDataObject).body as { text: string }).text).toMatch(/Replay refused: key "INV-4" is still being processed \(its claim is live until .+\)/);
		const [[notAllowed]] = await fromSlack([webhookItem(clickBody({ action_id: 'idempotency.resolve.discard', value: `discard:${id}` }))], { allowedUsers: 'U024BE7LH, jane' });
		expect(notAllowed.json).toMatchObject({ outcome: 'not_allowed', slack: { body: { response_type: 'ephemeral' } } });
		expect(await exceptionById(id)).toMatchObject({ status: 'open' });
		const [[allowed]] = await fromSlack([webhookItem(clickBody({ action_id: 'idempotency.resolve.discard', value: `discard:${id}` }))], { allowedUsers: 'U024BE7LH, @roadrunner' });
		expect(allowed.json).toMatchObject({ outcome: 'resolved', exception: { resolution: 'discard', resolvedVia: 'slack' } });
	});

	it('answers a signed click on an exception the store does not know, whatever its id, without touching anything', async () => {
		const ids = ['0f8fad5b-d9cb-469f-a165-70867728950e', "'; DROP TABLE exceptions; --", '{x}:*', 'x'.repeat(1500)];
		const [handled, ignored] = await fromSlack(ids.map((id) => webhookItem(clickBody({ action_id: 'idempotency.resolve.discard', value: `discard:${id}` }))));
		expect(ignored).toEqual([]);
		expect(handled.map((item) => item.json.outcome)).toEqual(ids.map(() => 'unknown_exception'));
		expect(handled[0].json.slack).toMatchObject({ response_url: RESPONSE_URL, body: { response_type: 'ephemeral', replace_original: false } });
	});

	it('fails with the fix when the Webhook gives no raw body, or the credential has no secret', async () => {
		const item = webhookItem(clickBody({ action_id: 'idempotency.resolve.discard', value: 'discard:x' }));
		delete item.binary;
		await expect(fromSlack([item])).rejects.toThrow(/Item 0: The item has no raw body/);
		const [[failed]] = await fromSlack([item], {}, { continueOnFail: true });
		expect(failed.json.error).toMatch(/raw body/);
		const context = mockContext({ items: [webhookItem('x=1')], nodeName: 'Router', parameters: { store, operation: 'resolveFromSlack' }, credentials: { ...credentials, idempotencySlackApi: { signingSecret: ' ' } } });
		await expect(new ExceptionRouter().execute.call(context)).rejects.toThrow(/no signing secret/);
	});
});

/** The Trigger's item for a stuck claim, as poll.ts builds it (no claim token). */
const stuckClaimItem = (key: string): INodeExecutionData => ({
	json: { event: 'stuckClaim', _idempotency: { namespace, key, outcome: 'ambiguous', reason: 'lease_expired', state: 'processing', claimToken: null } },
});
const reconcile = (items: INodeExecutionData[], parameters: Record<string, ParameterValue>, more = {}) =>
	router(items, { operation: 'reconcile', settleSeconds: 0, ...parameters }, more);

describe.each(CREDENTIAL_KINDS)('Reconcile on %s', (kind) => {
	beforeAll(() => {
		store = kind;
	});

	it('has three outputs: Processed, Replayed, Left Open', () => {
		expect(configuredOutputs({ operation: 'reconcile' }).map((o) => o.displayName)).toEqual(['Processed', 'Replayed', 'Left Open']);
	});

	it('found: the key is processed with what the lookup found, its exception resolved reconciled; the redelivery is a duplicate', async () => {
		await guard(['C-1'], { leaseSeconds: 1 });
		const [, , ambiguous] = await guard(['C-1']);
		const [[routed]] = await router(ambiguous, {});
		const id = (routed.json.exception as IDataObject).id as string;
		// The lookup replaced the item's json; Reconcile finds the key on the Router's item it came from.
		const lookup = [{ json: { results: [{ id: 'crm-77' }] }, pairedItem: { item: 0 } }];
		const [processed, replayed, open] = await reconcile(lookup, { found: (i: number) => (lookup[i].json.results as unknown[]).length > 0, result: { contactId: 'crm-77' } }, {
			extra: {
				getParentNodes: () => [{ name: 'Lookup', type: 'n8n-nodes-base.httpRequest' }, { name: 'Router', type: 'n8n-nodes-idempotency.exceptionRouter' }],
				getWorkflowDataProxy: () => ({ $: (name: string) => (name === 'Router' ? { item: routed } : { item: lookup[0] }) }),
			},
		});
		expect([replayed, open]).toEqual([[], []]);
		expect(processed[0].json.reconcile).toMatchObject({
			namespace,
			key: 'C-1',
			found: true,
			outcome: 'processed',
			record: { state: 'processed', result: { contactId: 'crm-77' } },
			resolved: [{ id, resolution: 'reconciled', resolvedVia: 'reconcile', resolvedBy: 'Reconcile (Router)' }],
		});
		const [, duplicate] = await guard(['C-1']);
		expect(duplicate[0].json._idempotency).toMatchObject({ outcome: 'duplicate', result: { contactId: 'crm-77' } });
	});

	it('not found: replayed once the lookup came after the lease plus the settle delay; left open before, with the reason', async () => {
		await guard(['C-2'], { leaseSeconds: 1 });
		const early = await reconcile([stuckClaimItem('C-2')], { found: false, lookedUpAt: new Date().toISOString() });
		expect(early[2][0].json.reconcile).toMatchObject({ outcome: 'left_open', refused: 'live_claim' });
		await sleep(1100);
		const tooEarly = await reconcile([stuckClaimItem('C-2')], { found: false, lookedUpAt: new Date().toISOString(), settleSeconds: 30 });
		expect(tooEarly[2][0].json.reconcile).toMatchObject({ outcome: 'left_open', refused: 'lookup_too_early', reason: expect.stringContaining('Look it up again later') });
		const [, replayed] = await reconcile([stuckClaimItem('C-2')], { found: 'false', lookedUpAt: String(Date.now()) });
		expect(replayed[0].json.reconcile).toMatchObject({ outcome: 'replayed', record: null });
		const [fresh] = await guard(['C-2']);
		expect(fresh).toHaveLength(1);
	});

	it("reads Looked Up At on the store's clock: a lookup made during the lease by an n8n whose clock runs ahead is not late enough", async () => {
		const claimedAt = Date.now();
		await guard(['C-6'], { leaseSeconds: 1 });
		await sleep(1100);
		// n8n's clock runs 170 s ahead of the store's: its $now at the lookup — made while the claim
		// was live — reads 170 s late, more than the settle delay.
		const realNow = Date.now.bind(Date);
		const ahead = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 170_000);
		try {
			const [, replayed, open] = await reconcile([stuckClaimItem('C-6')], { found: false, lookedUpAt: String(claimedAt + 170_000), settleSeconds: 120 });
			expect(replayed).toEqual([]);
			expect(open[0].json.reconcile).toMatchObject({ outcome: 'left_open', refused: 'lookup_too_early' });
		} finally {
			ahead.mockRestore();
		}
	});

	it("not found with the Guard's claim token: a key claimed again since the lookup is left open", async () => {
		const [[first]] = await guard(['C-3'], { leaseSeconds: 1 });
		await sleep(1100);
		await guard(['C-3'], { leaseSeconds: 1, onLeaseExpired: 'reclaim' }); // another run took it, and ran out too
		await sleep(1100);
		const [, , open] = await reconcile([first], { found: false, lookedUpAt: String(Date.now()) });
		expect(open[0].json.reconcile).toMatchObject({ outcome: 'left_open', refused: 'claim_changed' });
	});

	it('takes an explicit namespace, key and claim token', async () => {
		const [[claimed]] = await guard(['C-5'], { leaseSeconds: 1 });
		const token = (claimed.json._idempotency as IDataObject).claimToken as string;
		await sleep(1100);
		const explicit = { keySource: 'explicit', namespace, key: 'C-5', found: false, lookedUpAt: String(Date.now()) };
		const [, , open] = await reconcile([{ json: {} }], { ...explicit, claimToken: 'not-the-token' });
		expect(open[0].json.reconcile).toMatchObject({ key: 'C-5', outcome: 'left_open', refused: 'claim_changed' });
		const [, replayed] = await reconcile([{ json: {} }], { ...explicit, claimToken: token });
		expect(replayed[0].json.reconcile).toMatchObject({ key: 'C-5', outcome: 'replayed' });
	});

	it('a Found that is not true or false is an error naming the item; nothing changes', async () => {
		await guard(['C-4'], { leaseSeconds: 1 });
		await sleep(1100);
		await expect(reconcile([stuckClaimItem('C-4')], { found: '' })).rejects.toThrow(/Item 0: Found is empty, not true or false/);
		const [, , open] = await reconcile([stuckClaimItem('C-4')], { found: 'maybe' }, { continueOnFail: true });
		expect(open[0].json.error).toMatch(/Found is "maybe"/);
		await expect(reconcile([stuckClaimItem('C-4')], { found: false, lookedUpAt: 'yesterday' })).rejects.toThrow(/Looked Up At is "yesterday"/);
		// A lookup time ahead of now (a wrong time zone) would let any lookup count as late enough.
		await expect(reconcile([stuckClaimItem('C-4')], { found: false, lookedUpAt: new Date(Date.now() + 3_600_000).toISOString() })).rejects.toThrow(/later than now/);
		const [[record]] = await ledger({ operation: 'get', keySource: 'explicit', namespace, key: 'C-4' });
		expect(record.json).toMatchObject({ state: 'processing' });
	});
});

describe('the Idempotency Slack App credential test', () => {
	const test = new ExceptionRouter().methods.credentialTest.idempotencySlackApiTest;
	const run = (signingSecret: string) => test.call({} as never, { id: '1', name: 'slack', type: 'idempotencySlackApi', data: { signingSecret } });

	it('checks the form of the secret: Slack offers no call that checks it', async () => {
		expect(await run('8f742231b10e8888abcd99aaabbb85a5')).toMatchObject({ status: 'OK' });
		expect(await run('')).toMatchObject({ status: 'Error', message: 'The signing secret is empty' });
		expect(await run(' 8f742231b10e8888abcd99aaabbb85a5')).toMatchObject({ status: 'Error', message: expect.stringContaining('space') });
		expect(await run('xoxb-1234-5678')).toMatchObject({ status: 'Error', message: expect.stringContaining('not the bot token') });
	});
});
