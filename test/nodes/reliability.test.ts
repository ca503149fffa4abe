// Issue 11 through the nodes, on the real Postgres and Redis: a key that looks like a hashed key
// is never another event's record; explicit keys are taken as written and find what the Guard
// stored; hostile numeric options are refused with the item, the parameter and the range, and
// leave the store untouched.

import { randomBytes } from 'crypto';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { mockContext, type ParameterValue } from '../helpers/n8nContext';
import { nodeTestStores } from '../helpers/nodeStores';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../nodes/shared/store/backends';

let namespace = '';
let store: CredentialKind = 'postgres';

const { credentials } = nodeTestStores('reliability_node', 'rel', (ns) => {
	namespace = ns;
});

const meta = (item: INodeExecutionData) => item.json._idempotency as IDataObject;

async function guard(ids: string[], options: IDataObject = {}) {
	const context = mockContext({
		items: ids.map((id) => ({ json: { id } })),
		parameters: { store, namespace, keySource: 'fields', keyFields: 'id', fingerprint: 'none', options },
		credentials,
	});
	return new IdempotencyGuard().execute.call(context);
}

async function ledger(items: INodeExecutionData[], parameters: Record<string, ParameterValue>) {
	const context = mockContext({
		items,
		nodeName: 'Ledger',
		parameters: { store, namespace, keySource: 'metadata', options: {}, ...parameters },
		credentials,
		extra: { getParentNodes: () => [], getWorkflowDataProxy: () => ({}) },
	});
	return new StateLedger().execute.call(context);
}

async function router(items: INodeExecutionData[], parameters: Record<string, ParameterValue>) {
	const context = mockContext({
		items,
		nodeName: 'Router',
		parameters: { store, namespace, operation: 'route', keySource: 'metadata', reason: 'fromItem', rules: { rule: [] }, fallbackOwner: 'ops', options: {}, ...parameters },
		credentials,
		extra: { getParentNodes: () => [], getWorkflowDataProxy: () => ({}) },
	});
	return new ExceptionRouter().execute.call(context);
}

const getKey = async (key: string) => (await ledger([{ json: {} }], { operation: 'get', keySource: 'explicit', key }))[0][0].json;

describe.each(CREDENTIAL_KINDS)('reliability through the nodes on %s', (kind) => {
	beforeAll(() => {
		store = kind;
	});

	describe('a key that looks like a hashed key', () => {
		it('a crafted delivery whose key is another event’s hashed key is not a duplicate of it', async () => {
			const [posted] = await guard(['jane@example.com'], { hashKeys: true });
			const hashed = meta(posted[0]).key as string;
			expect(hashed).toMatch(/^sha256:[0-9a-f]{64}$/);
			await ledger(posted, { operation: 'markProcessed', result: '{"invoice":"INV-JANE"}' });
			const before = await getKey(hashed);

			const [fresh, duplicate, ambiguous] = await guard([hashed]);
			expect(duplicate).toHaveLength(0);
			const crafted = meta([...fresh, ...ambiguous][0]);
			expect(crafted.key).not.toBe(hashed);
			expect(crafted.result).toBeNull();
			expect(JSON.stringify(crafted)).not.toContain('INV-JANE');
			// Jane's record is untouched: not even counted as a duplicate.
			expect(await getKey(hashed)).toEqual(before);
			expect(before).toMatchObject({ state: 'processed', duplicateCount: 0 });
		});

		it('a plain key in the hashed form is stored hashed, and the Ledger finds it by the Guard’s key', async () => {
			const text = `sha256:${randomBytes(32).toString('hex')}`;
			const [fresh] = await guard([text]);
			expect(fresh).toHaveLength(1);
			const stored = meta(fresh[0]).key as string;
			expect(stored).toMatch(/^sha256:[0-9a-f]{64}$/);
			expect(stored).not.toBe(text);
			expect(await getKey(text)).toMatchObject({ state: null });
			const [applied] = await ledger([{ json: {} }], { operation: 'markProcessed', keySource: 'explicit', key: stored, claimToken: meta(fresh[0]).claimToken as string });
			expect(applied[0].json.ledger).toMatchObject({ applied: true, key: stored, state: 'processed' });
			const [, duplicate] = await guard([text]);
			expect(meta(duplicate[0])).toMatchObject({ reason: 'already_processed', key: stored });
		});

		it('a record an earlier version stored under such a key as written is neither new nor a duplicate', async () => {
			const text = `sha256:${randomBytes(32).toString('hex')}`;
			// What an earlier version left: the plain key stored as written, processed.
			await ledger([{ json: {} }], { operation: 'markProcessed', keySource: 'explicit', key: text, result: '{"old":true}', options: { force: true } });
			const [fresh, duplicate, ambiguous] = await guard([text, text]);
			expect(fresh).toHaveLength(0);
			expect(meta(ambiguous[0])).toMatchObject({ outcome: 'ambiguous', reason: 'legacy_key', result: null });
			expect(meta(ambiguous[0]).detail).toContain(text);
			expect(duplicate.map((i) => meta(i).reason)).toEqual(['duplicate_in_batch']);
			// A person decides: it was this event → mark the new key processed; later deliveries are duplicates.
			const [routed] = await router(ambiguous, {});
			await router([{ json: {} }], { operation: 'resolve', exceptionId: (routed[0].json.exception as IDataObject).id, resolution: 'markProcessed', result: '{"checked":true}' });
			const [, again] = await guard([text]);
			expect(meta(again[0])).toMatchObject({ reason: 'already_processed', result: { checked: true } });
		});
	});

	describe('explicit keys are taken as written', () => {
		it('" abc" addresses " abc", not "abc"', async () => {
			await ledger([{ json: {} }], { operation: 'markReceived', keySource: 'explicit', key: 'abc' });
			expect(await getKey(' abc')).toMatchObject({ key: ' abc', state: null });
			expect(await getKey('abc ')).toMatchObject({ state: null });
			expect(await getKey('abc')).toMatchObject({ key: 'abc', state: 'received' });
			const [, rejected] = await ledger([{ json: {} }], { operation: 'release', keySource: 'explicit', key: ' abc' });
			expect(rejected[0].json.ledger).toMatchObject({ applied: false, reason: 'not_found' });
			expect(await getKey('abc')).toMatchObject({ state: 'received' });
		});

		it('a business key over 256 characters finds the record the Guard stored hashed', async () => {
			const long = `INV-${'9'.repeat(300)}`;
			const [fresh] = await guard([long]);
			const [applied] = await ledger([{ json: {} }], { operation: 'markProcessed', keySource: 'explicit', key: long, claimToken: meta(fresh[0]).claimToken as string });
			expect(applied[0].json.ledger).toMatchObject({ applied: true, key: meta(fresh[0]).key, state: 'processed' });
		});

		it('the Router keeps an explicit key as written too', async () => {
			const [routed] = await router([{ json: {} }], { keySource: 'explicit', key: ' INV-1 ', reason: 'write_timeout' });
			expect(routed[0].json.exception).toMatchObject({ key: ' INV-1 ' });
		});
	});

	describe('bounded inputs', () => {
		it.each([
			['retentionDays', 2e11, /Item 0: Retention \(Days\) must be a number from 0 to 3650, got 200000000000/],
			['retentionDays', 1e308, /Item 0: Retention \(Days\) must be a number from 0 to 3650, got 1e\+308/],
			['leaseSeconds', -1, /Item 0: Lease \(Seconds\) must be a number from 1 to 2592000, got -1/],
			['leaseSeconds', NaN, /Item 0: Lease \(Seconds\) must be a number from 1 to 2592000, got NaN/],
			['maxAttempts', 1e308, /Item 0: Max Attempts must be a whole number from 1 to 1000/],
			['waitSeconds', 1e308, /Item 0: Wait \(Seconds\) must be a number from 1 to 600/],
		])('the Guard refuses %s = %p and claims nothing', async (option, value, message) => {
			const options: IDataObject = { [option]: value, onInProgress: option === 'waitSeconds' ? 'wait' : 'ambiguous' };
			await expect(guard(['k-1'], options)).rejects.toThrow(message);
			const record = await getKey('k-1');
			expect(record).toMatchObject({ state: null, history: [] });
		});

		it.each([
			['list', 'limit', 1e308, /Item 0: Limit must be a whole number from 1 to 1000/],
			['list', 'limit', -1, /Item 0: Limit must be a whole number from 1 to 1000, got -1/],
			['list', 'olderThanMinutes', NaN, /Item 0: Older Than \(Minutes\) must be a number from 0 to/],
			['stats', 'sinceHours', 2e11, /Item 0: Since \(Hours\) must be a number from 0 to 87600/],
		])('the Ledger refuses %s with %s = %p', async (operation, parameter, value, message) => {
			await expect(ledger([{ json: {} }], { operation, [parameter]: value })).rejects.toThrow(message);
		});

		it.each([
			['limit', NaN, /Item 0: Limit must be a whole number from 1 to 1000, got NaN/],
			['olderThanMinutes', -1, /Item 0: Older Than \(Minutes\) must be a number from 0 to/],
		])('the Router refuses listOpen with %s = %p', async (parameter, value, message) => {
			await expect(router([{ json: {} }], { operation: 'listOpen', [parameter]: value })).rejects.toThrow(message);
		});
	});
});
