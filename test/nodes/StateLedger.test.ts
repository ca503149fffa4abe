// The State Ledger's execute() with a mocked IExecuteFunctions and the real Postgres behind it:
// the canonical Guard → write → Ledger flow (metadata found through lineage), fencing, every
// read operation, and errors.

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { mockContext, type ParameterValue } from '../helpers/n8nContext';
import { nodeTestStores } from '../helpers/nodeStores';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../nodes/shared/store/backends';

let namespace = '';
let store: CredentialKind = 'postgres';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { credentials } = nodeTestStores('ledger_node', 'ledger', (ns) => {
	namespace = ns;
});

async function guard(emails: string[], options: IDataObject = {}) {
	const context = mockContext({
		items: emails.map((email) => ({ json: { email } })),
		parameters: { store, namespace, keySource: 'fields', keyFields: 'email', fingerprint: 'none', options },
		credentials,
	});
	return new IdempotencyGuard().execute.call(context);
}

/** Runs the Ledger on items; `upstream` plays the Guard's output reached through pairedItem lineage. */
async function ledger(
	items: INodeExecutionData[],
	parameters: Record<string, ParameterValue>,
	upstream: INodeExecutionData[] = [],
	more: { continueOnFail?: boolean } = {},
) {
	const context = mockContext({
		items,
		nodeName: 'Ledger',
		parameters: { store, keySource: 'metadata', options: {}, ...parameters },
		credentials,
		...more,
		extra: {
			getParentNodes: () => [
				{ name: 'Create contact', type: 'n8n-nodes-base.httpRequest', typeVersion: 4 },
				{ name: 'Guard', type: 'n8n-nodes-idempotency.idempotencyGuard', typeVersion: 1 },
			],
			getWorkflowDataProxy: (itemIndex: number) => ({
				$: (name: string) => {
					if (name !== 'Guard') throw new Error(`no node ${name}`);
					const paired = items[itemIndex].pairedItem as { item: number };
					if (!upstream[paired.item]) throw new Error('no paired item');
					return { item: upstream[paired.item] };
				},
			}),
		},
	});
	return new StateLedger().execute.call(context);
}

const crmResponse = (id: string, from: number): INodeExecutionData => ({ json: { id, created: true }, pairedItem: { item: from } });

describe.each(CREDENTIAL_KINDS)('State Ledger node on %s', (kind) => {
	beforeAll(() => {
		store = kind;
	});

	it('marks processed through lineage when the write replaced the json, and duplicates then get the result', async () => {
		const [fresh] = await guard(['a@x', 'b@x']);
		const responses = [crmResponse('c-1', 0), crmResponse('c-2', 1)];
		const [applied, rejected] = await ledger(responses, { operation: 'markProcessed', result: (i: number) => ({ contactId: responses[i].json.id }) }, fresh);
		expect(rejected).toHaveLength(0);
		expect(applied.map((i) => i.json.ledger)).toEqual([
			expect.objectContaining({ operation: 'markProcessed', namespace, key: 'a@x', applied: true, noop: false, state: 'processed' }),
			expect.objectContaining({ key: 'b@x', applied: true, state: 'processed' }),
		]);
		expect(applied[0].json.id).toBe('c-1');
		expect(applied.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);

		const [, duplicate] = await guard(['a@x']);
		expect((duplicate[0].json._idempotency as IDataObject).result).toEqual({ contactId: 'c-1' });
	});

	it('repeats the same transition as an applied no-op', async () => {
		const [fresh] = await guard(['a@x']);
		await ledger(fresh, { operation: 'markProcessed', result: '{"contactId":"c-1"}' });
		const [applied] = await ledger(fresh, { operation: 'markProcessed', result: '{"contactId":"c-1"}' });
		expect(applied[0].json.ledger).toMatchObject({ applied: true, noop: true });
	});

	it('rejects a stale worker whose lease was taken over (claim_lost) and leaves the new owner alone', async () => {
		const [stale] = await guard(['a@x'], { leaseSeconds: 1 });
		await sleep(1100);
		const [taken] = await guard(['a@x'], { onLeaseExpired: 'reclaim' });
		const [applied, rejected] = await ledger(stale, { operation: 'markProcessed', result: '{"by":"stale"}' });
		expect(applied).toHaveLength(0);
		expect(rejected[0].json.ledger).toMatchObject({ applied: false, reason: 'claim_lost', state: 'processing' });
		const [ok] = await ledger(taken, { operation: 'markProcessed', result: '{"by":"new"}' });
		expect(ok[0].json.ledger).toMatchObject({ applied: true, state: 'processed' });
	});

	// An error that quotes a binary body holds NUL, which Postgres text cannot: it is kept as U+FFFD.
	it.each([
		['the error of the write', 'CRM answered 503', 'CRM answered 503'],
		['an error that quotes a NUL character (a binary body)', 'CRM answered 500: \u0000\u0001PK', 'CRM answered 500: \ufffd\u0001PK'],
	])('marks failed with %s, so the Guard retries it', async (_what, message, stored) => {
		const [fresh] = await guard(['a@x']);
		const errorItem: INodeExecutionData = { json: { error: { message } }, pairedItem: { item: 0 } };
		const [applied] = await ledger([errorItem], { operation: 'markFailed' }, fresh);
		expect(applied[0].json.ledger).toMatchObject({ applied: true, state: 'failed' });
		const [get] = await ledger(fresh, { operation: 'get' });
		expect(get[0].json).toMatchObject({ state: 'failed', lastError: stored, attempt: 1 });
		const [retry] = await guard(['a@x']);
		expect(retry[0].json._idempotency).toMatchObject({ reason: 'retry_after_failure', attempt: 2 });
	});

	it('answers "what happened to key X?" with get and history, for explicit keys too', async () => {
		const [fresh] = await guard(['a@x']);
		await guard(['a@x']);
		await ledger(fresh, { operation: 'markProcessed', result: '{"contactId":"c-1"}' });
		const [got] = await ledger([{ json: {} }], { operation: 'get', keySource: 'explicit', namespace, key: 'a@x' });
		expect(got[0].json).toMatchObject({ namespace, key: 'a@x', state: 'processed', attempt: 1, result: { contactId: 'c-1' }, duplicateCount: 0, workflowId: 'wf-1', executionId: 'ex-1' });
		expect(got[0].json).not.toHaveProperty('claimToken');
		expect((got[0].json.history as IDataObject[]).map((h) => h.event)).toEqual(['claimed', 'ambiguous_seen', 'processed']);
		const [history] = await ledger([{ json: {} }], { operation: 'history', keySource: 'explicit', namespace, key: 'a@x' });
		expect(history.map((h) => [h.json.event, h.json.node])).toEqual([
			['claimed', 'Guard'],
			['ambiguous_seen', 'Guard'],
			['processed', 'Ledger'],
		]);
		const [unknown] = await ledger([{ json: {} }], { operation: 'get', keySource: 'explicit', namespace, key: 'nobody' });
		expect(unknown[0].json).toMatchObject({ key: 'nobody', state: null, history: [] });
	});

	it('shows a run of duplicates as one event with its count and last time, ended by the next event', async () => {
		const [fresh] = await guard(['a@x']);
		await ledger(fresh, { operation: 'markProcessed', result: '{"contactId":"c-1"}' });
		for (let i = 0; i < 3; i++) await guard(['a@x']);
		const [got] = await ledger([{ json: {} }], { operation: 'get', keySource: 'explicit', namespace, key: 'a@x' });
		const history = got[0].json.history as IDataObject[];
		expect(history.map((h) => [h.event, h.count ?? null])).toEqual([
			['claimed', null],
			['processed', null],
			['duplicate_seen', 3],
		]);
		const run = history[2];
		expect(Date.parse(run.lastAt as string)).toBeGreaterThanOrEqual(Date.parse(run.at as string));
		expect(got[0].json.duplicateCount).toBe(3);
		const [released] = await ledger([{ json: {} }], { operation: 'release', keySource: 'explicit', namespace, key: 'a@x' });
		expect(released[0].json.ledger).toMatchObject({ applied: true });
		const [again] = await guard(['a@x']);
		await ledger(again, { operation: 'markProcessed', result: '{"contactId":"c-1"}' });
		await guard(['a@x']);
		const [after] = await ledger([{ json: {} }], { operation: 'history', keySource: 'explicit', namespace, key: 'a@x' });
		expect(after.map((h) => [h.json.event, h.json.count ?? null])).toEqual([
			['claimed', null],
			['processed', null],
			['duplicate_seen', 3],
			['released', null],
			['claimed', null],
			['processed', null],
			['duplicate_seen', 1],
		]);
	});

	it('releases a key so the next delivery is new', async () => {
		const [fresh] = await guard(['a@x']);
		await ledger(fresh, { operation: 'markProcessed', result: '{}' });
		const [applied] = await ledger([{ json: {} }], { operation: 'release', keySource: 'explicit', namespace, key: 'a@x' });
		expect(applied[0].json.ledger).toMatchObject({ applied: true, state: null });
		const [again] = await guard(['a@x']);
		expect(again[0].json._idempotency).toMatchObject({ outcome: 'new', reason: 'first_seen' });
	});

	it('lists stuck claims, pages with a cursor, and counts stats', async () => {
		await guard(['a', 'b', 'c'], { leaseSeconds: 1 });
		await guard(['d']);
		await sleep(1100);
		const [page1] = await ledger([{ json: {} }], { operation: 'list', namespace, stuckOnly: true, limit: 2 });
		expect(page1).toHaveLength(2);
		const cursor = page1[0].json.nextCursor as string;
		expect(cursor).toBeTruthy();
		const [page2] = await ledger([{ json: {} }], { operation: 'list', namespace, stuckOnly: true, limit: 2, cursor });
		expect(page2.map((i) => i.json.key)).toHaveLength(1);
		expect(page2[0].json.nextCursor).toBeNull();
		expect(new Set([...page1, ...page2].map((i) => i.json.key))).toEqual(new Set(['a', 'b', 'c']));
		const [stats] = await ledger([{ json: {} }], { operation: 'stats', namespace, sinceHours: 1 });
		expect(stats[0].json).toMatchObject({ namespace, new: 4, duplicate: 0, ambiguous: 0, processed: 0, openExceptions: 0 });
	});

	it('reports the week by day with a Slack digest, for the namespace or every namespace', async () => {
		const [fresh] = await guard(['a@x', 'b@x']);
		await ledger([crmResponse('c-1', 0)], { operation: 'markProcessed', result: { contactId: 'c-1' } }, fresh);
		await guard(['a@x']);
		const [[item]] = await ledger([{ json: {} }], { operation: 'report', namespace, sinceDays: 7, bucket: 'day' });
		const json = item.json as IDataObject & { buckets: IDataObject[]; total: IDataObject; slack: { text: string; blocks: IDataObject[] } };
		expect(json).toMatchObject({ namespace, sinceDays: 7, bucket: 'day', openExceptions: 0, oldestOpen: null });
		expect(json.total).toMatchObject({ deliveries: 3, new: 2, duplicates: 1, ambiguous: 0, processed: 1, failed: 0, retriesSucceeded: 0 });
		// Seven days back from now, from the start of that day: eight days, today last.
		expect(json.buckets).toHaveLength(8);
		expect(json.buckets[7]).toMatchObject({ start: new Date(Date.now() - (Date.now() % 86_400_000)).toISOString(), deliveries: 3, duplicates: 1 });
		expect(json.slack.text).toContain(`in ${namespace}: 3 deliveries, 1 duplicates stopped`);
		const trend = json.slack.blocks.find((block) => String((block.text as IDataObject | undefined)?.text ?? '').startsWith('*Trend*'));
		const lines = String((trend!.text as IDataObject).text).split('\n').filter((line) => / in · /.test(line));
		expect(lines).toHaveLength(8);
		expect(lines[7]).toMatch(/ {2}█{7}▒{13} {2}3 in · 1 dup · 0 exc$/);
		expect(lines[0]).toMatch(/ {22}0 in · 0 dup · 0 exc$/);

		const [[every]] = await ledger([{ json: {} }], { operation: 'report', namespace: '', sinceDays: 1, bucket: 'hour' });
		expect(every.json.namespace).toBeNull();
		expect((every.json.total as IDataObject).new as number).toBeGreaterThanOrEqual(2);
		expect(String((every.json.slack as IDataObject).text)).toContain('in every namespace');
	});

	it('refuses a window over 100 days and an unknown grouping, naming the item', async () => {
		await expect(ledger([{ json: {} }], { operation: 'report', namespace, sinceDays: 101, bucket: 'day' })).rejects.toThrow(/Item 0: Since \(Days\) must be a number from 0 to 100, got 101/);
		await expect(ledger([{ json: {} }], { operation: 'report', namespace, sinceDays: 7, bucket: 'month' })).rejects.toThrow(/Item 0: Group By "month" is not one of hour, day, week/);
	});

	it('refuses a result over 64 KB and malformed JSON with clear errors, changing nothing', async () => {
		const [fresh] = await guard(['a@x']);
		await expect(ledger(fresh, { operation: 'markProcessed', result: { blob: 'x'.repeat(70_000) } })).rejects.toThrow(/Item 0: Result is \d+ bytes; at most 65536/);
		await expect(ledger(fresh, { operation: 'markProcessed', result: '{not json' })).rejects.toThrow(/Item 0: Result is not valid JSON/);
		const [got] = await ledger(fresh, { operation: 'get' });
		expect(got[0].json).toMatchObject({ state: 'processing', result: null });
	});

	it('names the item that has no metadata, and routes it to Rejected under continueOnFail', async () => {
		const orphan: INodeExecutionData = { json: { id: 1 }, pairedItem: { item: 0 } };
		await expect(ledger([orphan], { operation: 'markProcessed', result: '{}' })).rejects.toThrow(/Item 0 has no idempotency metadata/);
		const [applied, rejected] = await ledger([orphan], { operation: 'markProcessed', result: '{}' }, [], { continueOnFail: true });
		expect(applied).toHaveLength(0);
		expect(rejected[0].json.error).toMatch(/no idempotency metadata/);
	});
});
