// The Exception Router's execute() with a mocked IExecuteFunctions and the real Postgres behind it.

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

const { credentials } = nodeTestStores('router_node', 'router', (ns) => {
	namespace = ns;
});

const rules = {
	rule: [
		{ outputName: 'Finance review', reasons: ['payload_mismatch'], condition: true, owner: 'U024BE7LH', severity: 'high' },
		{ outputName: 'Big invoices', reasons: [], condition: true, owner: 'C0FINANCE', severity: 'critical' },
		{ outputName: 'Stale', reasons: ['lease_expired', 'in_progress'], condition: true, owner: '@revops', severity: 'medium' },
	],
};

async function guard(invoices: Array<{ id: string; amount: number }>) {
	const context = mockContext({
		items: invoices.map((body) => ({ json: { body } })),
		parameters: { store, namespace, keySource: 'fields', keyFields: 'body.id', fingerprint: 'fields', fingerprintFields: 'body.amount', options: {} },
		credentials,
	});
	return new IdempotencyGuard().execute.call(context);
}

async function router(items: INodeExecutionData[], parameters: Record<string, ParameterValue>, more: { continueOnFail?: boolean } = {}) {
	const context = mockContext({
		items,
		nodeName: 'Router',
		executionId: 'ex-9',
		parameters: { store, operation: 'route', keySource: 'metadata', reason: 'fromItem', rules, fallbackOwner: 'team-ops', options: {}, ...parameters },
		credentials,
		...more,
		extra: { getParentNodes: () => [], getWorkflowDataProxy: () => ({}) },
	});
	return new ExceptionRouter().execute.call(context);
}

const exceptionOf = (item: INodeExecutionData) => item.json.exception as IDataObject;

describe.each(CREDENTIAL_KINDS)('Exception Router node on %s', (kind) => {
	beforeAll(() => {
		store = kind;
	});

	it('builds one output per rule plus Unrouted, named by the rules', () => {
		expect(configuredOutputs({ operation: 'route', rules }).map((o) => o.displayName)).toEqual(['Finance review', 'Big invoices', 'Stale', 'Unrouted']);
		expect(configuredOutputs({ operation: 'route', rules: { rule: [{ outputName: '' }] } }).map((o) => o.displayName)).toEqual(['Rule 1', 'Unrouted']);
		expect(configuredOutputs({ operation: 'listOpen' })).toHaveLength(1);
	});

	it('routes an ambiguous item by the first matching rule, with owner, reason, execution link and Slack message', async () => {
		await guard([{ id: 'INV-1', amount: 100 }]);
		const [, , ambiguous] = await guard([{ id: 'INV-1', amount: 999 }]);
		const outputs = await router(ambiguous, {});
		expect(outputs.map((o) => o.length)).toEqual([1, 0, 0, 0]);
		const exception = exceptionOf(outputs[0][0]);
		expect(exception).toMatchObject({ namespace, key: 'INV-1', reason: 'payload_mismatch', owner: 'U024BE7LH', severity: 'high', route: 'Finance review', status: 'open', occurrences: 1, executionId: 'ex-9', executionUrl: 'http://localhost:5678/workflow/wf-1/executions/ex-9', attempt: 1 });
		expect(exception.id).toMatch(/^[0-9a-f]{8}-[0-9a-f-]{27}/);
		const slack = outputs[0][0].json.slack as { text: string; blocks: unknown[] };
		expect(blockKitProblems(slack)).toEqual([]);
		expect(JSON.stringify(slack.blocks)).toContain('<@U024BE7LH>');
		expect(outputs[0][0].json.body).toEqual({ id: 'INV-1', amount: 999 });
		expect(outputs[0][0].pairedItem).toEqual({ item: 0 });
	});

	it('counts a repeat on the open exception: routed twice → one exception with occurrences 2', async () => {
		await guard([{ id: 'INV-2', amount: 1 }]);
		const [, , first] = await guard([{ id: 'INV-2', amount: 2 }]);
		const [, , second] = await guard([{ id: 'INV-2', amount: 3 }]);
		const a = await router(first, {});
		const b = await router(second, {});
		expect(exceptionOf(b[0][0])).toMatchObject({ id: exceptionOf(a[0][0]).id, occurrences: 2 });
		const [open] = await router([{ json: {} }], { operation: 'listOpen', namespace, reason: '' });
		expect(open).toHaveLength(1);
		const ledger = mockContext({
			items: [{ json: {} }],
			parameters: { store, operation: 'stats', namespace, sinceHours: 1 },
			credentials,
		});
		const [[stats]] = await new StateLedger().execute.call(ledger);
		expect(stats.json).toMatchObject({ openExceptions: 1, ambiguous: 2, ambiguousByReason: { payload_mismatch: 2 } });
	});

	it('uses a rule condition, and sends what no rule matches to Unrouted with the fallback owner', async () => {
		const items: INodeExecutionData[] = [
			{ json: { amount: 50_000, _idempotency: { namespace, key: 'big', reason: 'max_attempts', attempt: 3 } } },
			{ json: { amount: 10, _idempotency: { namespace, key: 'small', reason: 'max_attempts', attempt: 3 } } },
		];
		const conditional = {
			rule: [
				rules.rule[0],
				{ ...rules.rule[1], condition: (i: number) => (items[i].json.amount as number) > 10_000 },
				rules.rule[2],
			],
		};
		const outputs = await router(items, {
			rules: conditional,
			'rules.rule[0].condition': true,
			'rules.rule[1].condition': (i: number) => (items[i].json.amount as number) > 10_000,
			'rules.rule[2].condition': true,
		});
		expect(outputs.map((o) => o.map((i) => exceptionOf(i).key))).toEqual([[], ['big'], [], ['small']]);
		expect(exceptionOf(outputs[3][0])).toMatchObject({ owner: 'team-ops', route: 'Unrouted', severity: 'medium' });
	});

	it('routes a failed write path with an explicit key and a fixed reason', async () => {
		const outputs = await router([{ json: { error: { message: 'timeout' } } }], { keySource: 'explicit', namespace, key: 'lead-7', reason: 'write_timeout' });
		expect(outputs[1]).toHaveLength(1);
		expect(exceptionOf(outputs[1][0])).toMatchObject({ key: 'lead-7', reason: 'write_timeout', owner: 'C0FINANCE' });
		expect(JSON.stringify(outputs[1][0].json.slack)).toContain('Write outcome unknown');
	});

	it('routes items without a business key (missing_key) instead of dropping them', async () => {
		const items: INodeExecutionData[] = [{ json: { _idempotency: { namespace, key: null, reason: 'missing_key', attempt: 0 } } }];
		const outputs = await router(items, {});
		expect(exceptionOf(outputs[1][0])).toMatchObject({ reason: 'missing_key', key: 'missing-key:ex-9:0' });
	});

	it('does not store anything with persist off', async () => {
		const outputs = await router([{ json: { _idempotency: { namespace, key: 'k', reason: 'lease_expired', attempt: 1 } } }], { options: { persist: false } });
		expect(exceptionOf(outputs[1][0])).toMatchObject({ id: null, occurrences: 1, owner: 'C0FINANCE' });
		const [open] = await router([{ json: {} }], { operation: 'listOpen', namespace, reason: '' });
		expect(open).toHaveLength(0);
	});

	it('resolves: replay makes the next delivery new; markProcessed answers duplicates with the result', async () => {
		await guard([{ id: 'INV-3', amount: 1 }, { id: 'INV-4', amount: 1 }]);
		const [, , amb] = await guard([{ id: 'INV-3', amount: 2 }, { id: 'INV-4', amount: 2 }]);
		const routed = await router(amb, {});
		const [e3, e4] = routed[0].map((i) => exceptionOf(i).id as string);
		// INV-3's first run still holds its claim: replaying it would let the next delivery write too.
		await expect(router([{ json: {} }], { operation: 'resolve', exceptionId: e3, resolution: 'replay' })).rejects.toThrow(
			/Item 0: Replay refused: key "INV-3" is still being processed .*the exception stays open/,
		);
		const [[stillOpen]] = await router([{ json: {} }], { operation: 'get', exceptionId: e3 });
		expect(stillOpen.json).toMatchObject({ status: 'open' });
		const [, , inProgress] = await guard([{ id: 'INV-3', amount: 1 }]);
		expect((inProgress[0].json._idempotency as IDataObject).reason).toBe('in_progress');
		const [[replayed]] = await router([{ json: {} }], { operation: 'resolve', exceptionId: e3, resolution: 'replay', resolvedBy: 'jane', note: 'corrected', options: { force: true } });
		expect(replayed.json).toMatchObject({ alreadyResolved: false, record: null, resolved: [expect.objectContaining({ id: e3, status: 'resolved', resolution: 'replay', resolvedBy: 'jane' })] });
		const [[processed]] = await router([{ json: {} }], { operation: 'resolve', exceptionId: e4, resolution: 'markProcessed', result: '{"ledgerId":"L-4"}' });
		expect(processed.json.record).toMatchObject({ state: 'processed', result: { ledgerId: 'L-4' } });
		const [fresh, duplicate] = await guard([{ id: 'INV-3', amount: 2 }, { id: 'INV-4', amount: 1 }]);
		expect(fresh.map((i) => (i.json._idempotency as IDataObject).key)).toEqual(['INV-3']);
		expect((duplicate[0].json._idempotency as IDataObject).result).toEqual({ ledgerId: 'L-4' });
		const [[again]] = await router([{ json: {} }], { operation: 'resolve', exceptionId: e3, resolution: 'replay' });
		expect(again.json).toMatchObject({ alreadyResolved: true });
		const [[got]] = await router([{ json: {} }], { operation: 'get', exceptionId: e4 });
		expect(got.json).toMatchObject({ id: e4, status: 'resolved', resolution: 'markProcessed' });
	});

	it('names the item and the fix on bad input, and honours continueOnFail', async () => {
		await expect(router([{ json: { id: 1 } }], {})).rejects.toThrow(/Item 0: The item carries no _idempotency/);
		await expect(router([{ json: { _idempotency: { namespace, key: 'k', reason: 'lease_expired' } } }], { rules: { rule: [] }, fallbackOwner: '' })).rejects.toThrow(/Item 0: No owner/);
		await expect(router([{ json: {} }], { operation: 'get', exceptionId: 'nope' })).rejects.toThrow(/No exception has the ID "nope"/);
		const outputs = await router([{ json: { id: 1 } }], {}, { continueOnFail: true });
		expect(outputs[3][0].json.error).toMatch(/no _idempotency/);
	});

	it('groups by key: a timeout, then in_progress and lease_expired, is one incident and one Slack message listing the reasons', async () => {
		const seen = (key: string, reason: string) => [{ json: { _idempotency: { namespace, key, reason, attempt: 1 } } }];
		const route = async (key: string, reason: string, options: IDataObject) =>
			(await router(seen(key, reason === 'write_timeout' ? 'in_progress' : reason), { reason: reason === 'write_timeout' ? reason : 'fromItem', options }))
				.flat()
				.map((item) => item.json)[0] as { exception: IDataObject; slack: { text: string; blocks: unknown[] } };
		// One after the other: a write that timed out, a redelivery while it hangs, one after its lease.
		const history = async (key: string, options: IDataObject) => [
			await route(key, 'write_timeout', options),
			await route(key, 'in_progress', options),
			await route(key, 'lease_expired', options),
		];
		const grouped = await history('lead-9', { groupBy: 'key' });
		expect(new Set(grouped.map((g) => g.exception.id)).size).toBe(1);
		expect(grouped.map((g) => g.exception.opened)).toEqual([true, false, false]);
		expect(grouped[2].exception).toMatchObject({ reason: 'write_timeout', reasons: ['write_timeout', 'in_progress', 'lease_expired'], groupBy: 'key', occurrences: 3 });
		const slack = grouped[2].slack;
		expect(blockKitProblems(slack)).toEqual([]);
		expect(slack.text).toContain('Reasons: write_timeout, in_progress, lease_expired.');
		expect(JSON.stringify(slack.blocks)).toContain('*Reasons*');
		expect(JSON.stringify(slack.blocks)).toContain('Claim went stale (`lease_expired`)');
		const [open] = await router([{ json: {} }], { operation: 'listOpen', namespace, reason: '' });
		expect(open.map((item) => item.json.key)).toEqual(['lead-9']);

		// The default stays per (key, reason): three exceptions, three openings.
		const apart = await history('lead-10', {});
		expect(new Set(apart.map((a) => a.exception.id)).size).toBe(3);
		expect(apart.map((a) => [a.exception.opened, a.exception.reasons])).toEqual([[true, ['write_timeout']], [true, ['in_progress']], [true, ['lease_expired']]]);
		expect(apart[0].slack.text).not.toContain('Reasons:');
	});

	it('marks only the first of repeats in one input as opened, and refuses an unknown Group By', async () => {
		const items = [0, 1, 2].map(() => ({ json: { _idempotency: { namespace, key: 'dup', reason: 'in_progress', attempt: 1 } } }));
		const outputs = (await router(items, { options: { groupBy: 'key' } })).flat();
		expect(outputs.map((item) => exceptionOf(item).opened)).toEqual([true, false, false]);
		expect(outputs.map((item) => exceptionOf(item).occurrences)).toEqual([3, 3, 3]);
		await expect(router(items, { options: { groupBy: 'reason' } })).rejects.toThrow(/Item 0: Option Group By is "reason"/);
		await expect(router(items, { options: { groupBy: 'reason' } })).rejects.toMatchObject({ description: expect.stringMatching(/Options → Group By/) });
	});
});
