// The Idempotency Trigger's poll() with a mocked IPollFunctions (n8n's boundary) and the real
// Postgres and Redis behind it: first poll from now, each event once over many polls, restart-safe
// through the static data n8n saves, what a crash before that save does, filters and bad input.

import { NodeOperationError, type IDataObject, type INode, type INodeExecutionData, type IPollFunctions } from 'n8n-workflow';
import { IdempotencyTrigger } from '../../nodes/IdempotencyTrigger/IdempotencyTrigger.node';
import { SETTLE_MS } from '../../nodes/IdempotencyTrigger/poll';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { storeOfKind } from '../../nodes/shared/n8n/resolveStore';
import { closeAllStores } from '../../nodes/shared/store/registry';
import type { ClaimPolicy, IdempotencyStore } from '../../nodes/shared/store/types';
import { blockKitProblems } from '../helpers/blockKit';
import { mockContext, postgresCredential, redisCredential } from '../helpers/n8nContext';
import { dropSchema, uniqueSchema } from '../helpers/postgres';
import { deletePrefix, uniquePrefix } from '../helpers/redis';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../nodes/shared/store/backends';

const schema = uniqueSchema('trigger_node');
const prefix = uniquePrefix('trigger_node');
const credentials: Record<string, Record<string, unknown>> = {
	idempotencyPostgresApi: postgresCredential(schema),
	idempotencyRedisApi: redisCredential(prefix),
};
const node: INode = {
	id: 'trigger-1',
	name: 'Idempotency Trigger',
	type: 'n8n-nodes-idempotency.idempotencyTrigger',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
	credentials: { idempotencyPostgresApi: { id: 'cred-pg', name: 'pg' }, idempotencyRedisApi: { id: 'cred-redis', name: 'redis' } },
};
const actor = { workflowId: 'wf-7', executionId: 'ex-41', node: 'Guard' };
const policy = (leaseMs: number): ClaimPolicy => ({ leaseMs, retentionMs: 0, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let kind: CredentialKind = 'postgres';
let n = 0;

afterAll(async () => {
	await closeAllStores();
	await dropSchema(schema);
	await deletePrefix(prefix);
});

/** One workflow's trigger: its parameters and the static data n8n keeps for the node. */
function trigger(parameters: Record<string, unknown>, staticData: IDataObject = {}) {
	const poll = async (mode: 'trigger' | 'manual' = 'trigger'): Promise<INodeExecutionData[]> => {
		const context = {
			getNodeParameter: (name: string, fallback?: unknown) => (name in parameters ? parameters[name] : fallback),
			getNode: () => node,
			getCredentials: async (name: string) => credentials[name],
			getWorkflowStaticData: () => staticData,
			getMode: () => mode,
			getInstanceBaseUrl: () => 'http://localhost:5678/',
		} as unknown as IPollFunctions;
		const result = await new IdempotencyTrigger().poll.call(context);
		return result === null ? [] : result[0];
	};
	/** What n8n would have saved to its database: a copy, as after a restart. */
	const saved = () => JSON.parse(JSON.stringify(staticData)) as IDataObject;
	return { poll, staticData, saved };
}

const storeNow = async () => (await store()).clock();
const store = (): Promise<IdempotencyStore> => storeOfKind({ getCredentials: async (name: string) => credentials[name], getNode: () => node } as never, kind);

/** A claim whose lease ends `afterMs` after the trigger's current position (store clock). */
async function stuckClaim(namespace: string, key: string, position: number, afterMs = 50) {
	const leaseMs = 1_000;
	await (await store()).claim(namespace, [{ key, fingerprint: null }], policy(leaseMs), actor, position + afterMs - leaseMs);
}

/** Waits until the trigger's horizon (store clock − SETTLE_MS) has passed `time`. */
async function horizonPast(time: number) {
	for (;;) {
		const wait = time + SETTLE_MS + 20 - (await storeNow());
		if (wait <= 0) return;
		await sleep(wait);
	}
}

const positionOf = (staticData: IDataObject) => (staticData.cursor as { stuckClaims: { at: number } }).stuckClaims.at;
const keysOf = (items: INodeExecutionData[], namespace?: string) =>
	items
		.filter((item) => !namespace || ((item.json._idempotency ?? item.json.exception) as IDataObject).namespace === namespace)
		.map((item) => `${item.json.event}:${((item.json._idempotency ?? item.json.exception) as IDataObject).key}`);

describe.each(CREDENTIAL_KINDS)('Idempotency Trigger node on %s', (storeKind) => {
	let namespace: string;
	beforeAll(() => {
		kind = storeKind;
	});
	beforeEach(() => {
		namespace = `trigger-${Date.now()}-${n++}`;
	});

	it('starts from now on its first poll: the past does not flood the workflow', async () => {
		const now = await storeNow();
		await (await store()).claim(namespace, [{ key: 'old', fingerprint: null }], policy(1_000), actor, now - 60_000);
		await (await store()).recordExceptions(namespace, [{ key: 'old', reason: 'lease_expired', owner: 'ops', severity: 'high', route: 'Ops' }], actor, now - 30_000);
		const t = trigger({ store: kind, namespace, events: ['stuckClaims', 'exceptions'] });
		expect(await t.poll()).toEqual([]);
		expect(positionOf(t.staticData)).toBeGreaterThanOrEqual(now - SETTLE_MS);
		expect(await t.poll()).toEqual([]);
	});

	it('fires once for a claim whose lease ran out, with _idempotency like the Guard, over many polls', async () => {
		const t = trigger({ store: kind, namespace, events: ['stuckClaims', 'exceptions'] });
		await t.poll();
		const position = positionOf(t.staticData);
		await stuckClaim(namespace, 'inv-1', position);
		await horizonPast(position + 50);
		const items = await t.poll();
		expect(keysOf(items)).toEqual(['stuckClaim:inv-1']);
		expect(items[0].json._idempotency).toMatchObject({ namespace, key: 'inv-1', outcome: 'ambiguous', reason: 'lease_expired', state: 'processing', attempt: 1, claimToken: null, leaseUntil: new Date(position + 50).toISOString() });
		expect(items[0].json.claimedBy).toEqual({ workflowId: 'wf-7', executionId: 'ex-41', executionUrl: 'http://localhost:5678/workflow/wf-7/executions/ex-41' });
		expect(items[0].json.eventId).toBe(`stuckClaim:${namespace}:inv-1:${position + 50}`);
		for (let i = 0; i < 3; i++) expect(await t.poll()).toEqual([]);
	});

	it('puts the Resolve from Slack buttons on an exception message when asked', async () => {
		const t = trigger({ store: kind, namespace, events: ['exceptions'], options: { slackButtons: true } });
		await t.poll();
		const context = mockContext({
			items: [{ json: {} }],
			nodeName: 'Router',
			parameters: { store: kind, operation: 'route', keySource: 'explicit', namespace, key: 'INV-8', reason: 'write_timeout', rules: { rule: [] }, fallbackOwner: 'U024BE7LH', options: {} },
			credentials,
		});
		const id = ((await new ExceptionRouter().execute.call(context))[0][0].json.exception as IDataObject).id;
		await horizonPast(await storeNow());
		const [item] = await t.poll();
		const slack = item.json.slack as { blocks: Array<{ type: string; elements?: Array<{ action_id: string; value?: string }> }> };
		expect(blockKitProblems(slack as never)).toEqual([]);
		const buttons = slack.blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []).filter((e) => e.action_id.startsWith('idempotency.resolve.'));
		expect(buttons.map((b) => b.value)).toEqual([`markProcessed:${id}`, `replay:${id}`, `discard:${id}`]);
	});

	it('fires for an exception when opened and when it occurs again, with exception and slack like the Router', async () => {
		const t = trigger({ store: kind, namespace: '', events: ['exceptions'] });
		await t.poll();
		const route = async () => {
			const context = mockContext({
				items: [{ json: { invoice: 'INV-7' } }],
				nodeName: 'Router',
				parameters: { store: kind, operation: 'route', keySource: 'explicit', namespace, key: 'INV-7', reason: 'write_timeout', rules: { rule: [] }, fallbackOwner: 'U024BE7LH', options: {} },
				credentials,
			});
			return (await new ExceptionRouter().execute.call(context))[0][0].json;
		};
		const routed = await route();
		await horizonPast(await storeNow());
		const opened = (await t.poll()).filter((item) => (item.json.exception as IDataObject).namespace === namespace);
		expect(opened).toHaveLength(1);
		const { exception, slack } = opened[0].json as { exception: IDataObject; slack: { text: string; blocks: unknown[] } };
		const { exception: fromRouter, slack: slackFromRouter } = routed as { exception: IDataObject; slack: unknown };
		expect(exception).toEqual({ ...fromRouter, attempt: null, executionUrl: 'http://localhost:5678/workflow/wf-1/executions/ex-1' });
		expect(blockKitProblems(slack)).toEqual([]);
		expect(slack).toEqual(slackFromRouter);
		expect(opened[0].json.event).toBe('exception');

		await route();
		await horizonPast(await storeNow());
		const again = (await t.poll()).filter((item) => (item.json.exception as IDataObject).namespace === namespace);
		expect(again.map((item) => (item.json.exception as IDataObject).occurrences)).toEqual([2]);
		expect((again[0].json.exception as IDataObject).opened).toBe(false);
		expect(again[0].json.eventId).not.toBe(opened[0].json.eventId);
		expect((await t.poll()).filter((item) => (item.json.exception as IDataObject).namespace === namespace)).toEqual([]);
	});

	it('survives a restart: the saved position neither repeats nor skips an event', async () => {
		const t = trigger({ store: kind, namespace, events: ['stuckClaims', 'exceptions'] });
		await t.poll();
		const position = positionOf(t.staticData);
		await stuckClaim(namespace, 'before', position);
		await horizonPast(position + 50);
		expect(keysOf(await t.poll())).toEqual(['stuckClaim:before']);
		const saved = t.saved();

		// n8n stops; a claim goes stale while it is down; n8n starts with the saved static data.
		await closeAllStores();
		await stuckClaim(namespace, 'while-down', positionOf(saved));
		await horizonPast(positionOf(saved) + 50);
		const restarted = trigger({ store: kind, namespace, events: ['stuckClaims', 'exceptions'] }, saved);
		expect(keysOf(await restarted.poll())).toEqual(['stuckClaim:while-down']);
		expect(await restarted.poll()).toEqual([]);
	});

	it('repeats a window when n8n died before it saved the position — the same eventIds, so a Guard can drop them', async () => {
		const t = trigger({ store: kind, namespace, events: ['stuckClaims'] });
		await t.poll();
		const before = t.saved();
		const position = positionOf(before);
		await stuckClaim(namespace, 'k', position);
		await horizonPast(position + 50);
		const first = await t.poll();
		// The crash: n8n never wrote the static data of that poll.
		const replayed = await trigger({ store: kind, namespace, events: ['stuckClaims'] }, before).poll();
		expect(replayed.map((item) => item.json.eventId)).toEqual(first.map((item) => item.json.eventId));
		expect(first).toHaveLength(1);
	});

	it('pages a burst over polls in order, each event once', async () => {
		const t = trigger({ store: kind, namespace, events: ['stuckClaims'] });
		await t.poll();
		const position = positionOf(t.staticData);
		const keys = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`);
		await (await store()).claim(namespace, keys.map((key) => ({ key, fingerprint: null })), policy(1_000), actor, position + 50 - 1_000);
		await horizonPast(position + 50);
		expect(keysOf(await t.poll())).toEqual(keys.map((k) => `stuckClaim:${k}`));
		expect(await t.poll()).toEqual([]);
	});

	it('watches one namespace, or every namespace when Namespace is empty', async () => {
		const mine = trigger({ store: kind, namespace, events: ['stuckClaims'] });
		const all = trigger({ store: kind, namespace: '', events: ['stuckClaims'] });
		await mine.poll();
		await all.poll();
		const position = Math.max(positionOf(mine.staticData), positionOf(all.staticData));
		await stuckClaim(namespace, 'a', position);
		await stuckClaim(`${namespace}-other`, 'b', position);
		await horizonPast(position + 50);
		expect(keysOf(await mine.poll())).toEqual(['stuckClaim:a']);
		const everywhere = await all.poll();
		expect([...keysOf(everywhere, namespace), ...keysOf(everywhere, `${namespace}-other`)]).toEqual(['stuckClaim:a', 'stuckClaim:b']);
	});

	it('an event kind that is off moves along: turning it on later does not flood', async () => {
		const parameters: Record<string, unknown> = { store: kind, namespace, events: ['exceptions'] };
		const t = trigger(parameters);
		await t.poll();
		const position = positionOf(t.staticData);
		await stuckClaim(namespace, 'ignored', position);
		await horizonPast(position + 50);
		expect(await t.poll()).toEqual([]);
		parameters.events = ['stuckClaims', 'exceptions'];
		expect(await t.poll()).toEqual([]);
	});

	it('"Fetch Test Event" shows recent events and leaves the position alone', async () => {
		const t = trigger({ store: kind, namespace, events: ['stuckClaims', 'exceptions'] });
		await t.poll();
		const cursor = JSON.stringify(t.staticData);
		const now = await storeNow();
		await (await store()).claim(namespace, [{ key: 'recent', fingerprint: null }], policy(1_000), actor, now - 120_000);
		const sample = await t.poll('manual');
		expect(keysOf(sample, namespace)).toEqual(['stuckClaim:recent']);
		expect(JSON.stringify(t.staticData)).toBe(cursor);
		expect(await t.poll()).toEqual([]);
	});

	it('refuses bad settings with a clear error that says what to change', async () => {
		await expect(trigger({ store: kind, namespace, events: [] }).poll()).rejects.toThrow(NodeOperationError);
		await expect(trigger({ store: kind, namespace, events: [] }).poll()).rejects.toMatchObject({ description: expect.stringMatching(/Events/) });
		await expect(trigger({ store: kind, namespace, events: ['everything'] }).poll()).rejects.toThrow(/Stuck Claims and Exceptions/);
		await expect(trigger({ store: kind, namespace: 'x'.repeat(300), events: ['stuckClaims'] }).poll()).rejects.toThrow(/Namespace/);
	});
});

describe('Idempotency Trigger node on postgres, a claim that commits late', () => {
	beforeAll(() => {
		kind = 'postgres';
	});

	// A claim takes its timestamp when its statement starts; here it then waits on a row lock, so
	// it commits after a poll whose clock has passed its lease end. The horizon's SETTLE_MS keeps
	// the position behind it, and the claim fires once it is visible.
	it('does not skip a claim that took its time before a poll and committed after it', async () => {
		const namespace = `trigger-late-${Date.now()}`;
		const s = await store();
		const [first] = await s.claim(namespace, [{ key: 'k', fingerprint: null }], policy(60_000), actor);
		await s.transition(namespace, [{ kind: 'markFailed', key: 'k', claimToken: first.claimToken, verifyClaim: true, force: false, errorMessage: 'CRM 500', retentionMs: 0 }], actor);
		const t = trigger({ store: 'postgres', namespace, events: ['stuckClaims'] });
		await t.poll();

		const { Client } = await import('pg');
		const locker = new Client({ connectionString: process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
		await locker.connect();
		try {
			await locker.query('BEGIN');
			await locker.query(`SELECT 1 FROM "${schema}".records WHERE namespace = $1 AND key = 'k' FOR UPDATE`, [namespace]);
			const retry = s.claim(namespace, [{ key: 'k', fingerprint: null }], policy(300), actor);
			await sleep(1_500); // the retry's lease (300 ms from its timestamp) has ended; it is not committed
			expect(await t.poll()).toEqual([]);
			await locker.query('COMMIT');
			const [decision] = await retry;
			expect(decision).toMatchObject({ outcome: 'new', reason: 'retry_after_failure', attempt: 2 });
			await horizonPast(decision.leaseUntil!);
			const items = await t.poll();
			expect(keysOf(items)).toEqual(['stuckClaim:k']);
			expect(await t.poll()).toEqual([]);
		} finally {
			await locker.end();
		}
	});
});
