// The first hour in the editor, on n8n's own engine (test/helpers/n8nEngine.ts) with the real
// stores: a second test run is not held by the first one's claim, and nothing else is taken over
// (a production claim, another workflow's, a production run never takes over); the Router's
// Slack text says when the key is held by a test run; a State Ledger of version 2 stores no
// made-up `{}` result while version-1 nodes keep theirs.

import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';
import { restoreNews, takeOverTestRunClaims } from '../../nodes/IdempotencyGuard/helpers/testRuns';
import type { ClaimJob } from '../../nodes/shared/claims';
import { RedisStore } from '../../nodes/shared/store/redis/RedisStore';
import type { ClaimPolicy, IdempotencyStore } from '../../nodes/shared/store/types';
import { runFlow, TYPES, type Flow, type FlowNode } from '../helpers/n8nEngine';
import { nodeTestStores } from '../helpers/nodeStores';
import { dropSchema, postgresTestStore, uniqueSchema } from '../helpers/postgres';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../helpers/redis';

let namespace = '';
let store: 'postgres' | 'redis' = 'postgres';

const { credentials } = nodeTestStores('first_hour', 'first-hour', (ns) => {
	namespace = ns;
});

const source = (items: IDataObject[]): FlowNode => ({ name: 'Webhook', type: TYPES.source, parameters: { items: JSON.stringify(items) } });
const guard = (options: IDataObject = {}): FlowNode => ({
	name: 'Guard',
	type: TYPES.guard,
	parameters: { store, namespace, keySource: 'fields', keyFields: 'email', fingerprint: 'none', options: options as INodeParameters },
});
const router: FlowNode = {
	name: 'Router',
	type: TYPES.router,
	parameters: { store, operation: 'route', keySource: 'metadata', reason: 'fromItem', rules: {}, fallbackOwner: '@revops', options: { persist: false } },
};
const meta = (item: INodeExecutionData) => item.json._idempotency as IDataObject;
const lead = [{ email: 'test@x' }];

/** Webhook → Guard, its Ambiguous output → Router; run by a test click or by production. */
function guardFlow(options: IDataObject = {}, workflowId = 'wf-first-hour'): Flow {
	return { credentials, workflowId, nodes: [source(lead), guard(options), router], edges: [['Webhook', 'Guard'], ['Guard', 2, 'Router']] };
}
const history = async (workflowId = 'wf-first-hour') => {
	const run = await runFlow({
		credentials,
		workflowId,
		nodes: [source([{}]), { name: 'Get', type: TYPES.ledger, parameters: { store, operation: 'get', keySource: 'explicit', namespace, key: 'test@x', options: {} } }],
		edges: [['Webhook', 'Get']],
	});
	return (run.output('Get')[0].json.history as IDataObject[]).map((h) => [h.event, h.node, h.executionId]);
};
const hintsOf = (run: Awaited<ReturnType<typeof runFlow>>) => ((run.task('Guard') as { hints?: Array<{ message: string }> }).hints ?? []).map((h) => h.message);

describe.each(['postgres', 'redis'] as const)('the first hour in the editor, %s store', (kind) => {
	beforeAll(() => {
		store = kind;
	});

	it('a second test run takes back the claim the first test run left: New again, and the history says so', async () => {
		const first = await runFlow(guardFlow());
		expect(first.output('Guard', 0).map((i) => meta(i).reason)).toEqual(['first_seen']);
		const second = await runFlow(guardFlow());
		expect(second.output('Guard', 2)).toEqual([]);
		expect(second.output('Guard', 0).map((i) => [meta(i).outcome, meta(i).reason])).toEqual([['new', 'first_seen']]);
		expect(hintsOf(second).filter((m) => /in_progress/.test(m))).toEqual([]);
		expect(await history()).toEqual([
			['claimed', 'Guard (test run)', first.executionId],
			// The second run only looked at the held key (nothing written), then released it with
			// the first run's token: no ambiguous event counted for a key it took back.
			['released', 'Guard (test run)', second.executionId],
			['claimed', 'Guard (test run)', second.executionId],
		]);
	});

	it('with On In-Progress Key = Wait, a test run takes the key back at once instead of waiting', async () => {
		await runFlow(guardFlow({ onInProgress: 'wait', waitSeconds: 20 }));
		const started = Date.now();
		const second = await runFlow(guardFlow({ onInProgress: 'wait', waitSeconds: 20 }));
		expect(Date.now() - started).toBeLessThan(5000);
		expect(second.output('Guard', 0).map((i) => meta(i).reason)).toEqual(['first_seen']);
	});

	it('with the option off, the test run is held; the hint names the option and the Slack text says a test run holds the key', async () => {
		await runFlow(guardFlow({ testRunsTakeOver: false }));
		const second = await runFlow(guardFlow({ testRunsTakeOver: false }));
		const [held] = second.output('Guard', 2);
		expect(meta(held)).toMatchObject({ reason: 'in_progress', heldBy: { workflowId: 'wf-first-hour', testRun: true } });
		expect(hintsOf(second).join(' ')).toMatch(/earlier test run of this workflow.*Test Runs Take Over Their Own Claims/);
		const slack = JSON.stringify(second.output('Router', 0)[0].json.slack);
		expect(slack).toContain('Held by a test run');
		expect(slack).toContain('A test run of the workflow in the editor claimed this key');
		expect(slack).not.toContain('Another execution');
	});

	it('a test run never takes over a production claim; the hint and the Slack text do not call it a test run', async () => {
		const production = await runFlow(guardFlow(), 'webhook');
		expect(production.output('Guard', 0)).toHaveLength(1);
		const test = await runFlow(guardFlow());
		const [held] = test.output('Guard', 2);
		expect(meta(held)).toMatchObject({ reason: 'in_progress', heldBy: { executionId: production.executionId, testRun: false } });
		expect(hintsOf(test).join(' ')).toMatch(/a production execution, another workflow.*never takes those over/);
		const slack = JSON.stringify(test.output('Router', 0)[0].json.slack);
		expect(slack).toContain('Still in progress');
		expect(slack).not.toContain('Held by a test run');
		expect(await history()).toEqual([['claimed', 'Guard', production.executionId], ['ambiguous_seen', 'Guard (test run)', test.executionId]]);
	});

	it('a production execution never takes over a test run\'s claim', async () => {
		await runFlow(guardFlow());
		const production = await runFlow(guardFlow(), 'webhook');
		const [held] = production.output('Guard', 2);
		expect(meta(held).reason).toBe('in_progress');
		// Production executions do not read who holds the key (no extra round trips on the hot path).
		expect(meta(held).heldBy).toBeUndefined();
		expect(JSON.stringify(production.output('Router', 0)[0].json.slack)).toContain('it may also be a test run in the editor');
	});

	it('a test run of another workflow does not take over this workflow\'s test claim', async () => {
		await runFlow(guardFlow({}, 'wf-a'));
		const other = await runFlow(guardFlow({}, 'wf-b'));
		expect(meta(other.output('Guard', 2)[0])).toMatchObject({ reason: 'in_progress', heldBy: { workflowId: 'wf-a', testRun: true } });
	});

	it('a production Guard named "… (test run)" does not make its claims look like a test run\'s', async () => {
		const named = guardFlow();
		named.nodes[1] = { ...named.nodes[1], name: 'Guard (test run)' };
		named.edges = [['Webhook', 'Guard (test run)'], ['Guard (test run)', 2, 'Router']];
		await runFlow(named, 'webhook');
		const test = await runFlow(guardFlow());
		expect(meta(test.output('Guard', 2)[0])).toMatchObject({ reason: 'in_progress', heldBy: { testRun: false } });
	});

	it('State Ledger Mark Processed left without Result: version 2 stores null, a version-1 node as saved stores {}', async () => {
		const run = async (typeVersion: number, email: string) => {
			const flow: Flow = {
				credentials,
				nodes: [
					source([{ email }]),
					guard(),
					{ name: 'Mark processed', type: TYPES.ledger, typeVersion, parameters: { store, operation: 'markProcessed', keySource: 'metadata', options: {} } },
				],
				edges: [['Webhook', 'Guard'], ['Guard', 'Mark processed']],
			};
			await runFlow(flow, 'webhook');
			return meta((await runFlow(flow, 'webhook')).output('Guard', 1)[0]).result;
		};
		expect(await run(2, 'v2@x')).toBeNull();
		expect(await run(1, 'v1@x')).toEqual({});
		expect(await run(1.1, 'v11@x')).toEqual({});
	});
});

// The take-over reads who holds the key, then releases with the holder's token. Between the two,
// a production execution may take the key over (its lease ran out, On Lease Expired = Reclaim):
// the Release is bound to the token it read, so it is refused and the production claim stands.
describe.each(['postgres', 'redis'] as const)('the take-over on the store itself, %s store', (kind) => {
	const schema = uniqueSchema('first_hour_race');
	const prefix = uniquePrefix('first_hour_race');
	let real: IdempotencyStore;
	beforeAll(() => {
		const url = new URL(REDIS_URL);
		real =
			kind === 'postgres'
				? postgresTestStore(schema)
				: new RedisStore({ host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, keyPrefix: prefix, mode: 'standalone', allowNoPersistence: true });
	});
	afterAll(async () => {
		await real.close();
		if (kind === 'postgres') await dropSchema(schema);
		else await deletePrefix(prefix);
	});

	it('racing a production reclaim: refuses the Release and leaves the key with the production claim', async () => {
		const ns = `race-${Date.now()}`;
		const policy: ClaimPolicy = { leaseMs: 1000, retentionMs: 0, onInProgress: 'ambiguous', onLeaseExpired: 'reclaim', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
		const t0 = Date.now();
		const earlierTest = { workflowId: 'wf', executionId: 'ex-1', node: 'Guard (test run)' };
		const thisTest = { workflowId: 'wf', executionId: 'ex-2', node: 'Guard (test run)' };
		const production = { workflowId: 'wf', executionId: 'ex-prod', node: 'Guard' };
		await real.claim(ns, [{ key: 'k', fingerprint: null }], policy, earlierTest, t0);
		const job: ClaimJob = { namespace: ns, request: { key: 'k', fingerprint: null } };
		const decided = new Map([[job, (await real.claim(ns, [job.request], policy, thisTest, t0 + 10))[0]]]);
		expect(decided.get(job)!.reason).toBe('in_progress');
		// The production reclaim lands right after the take-over read the history.
		let productionToken: string | null = null;
		const racing = Object.create(real) as IdempotencyStore;
		racing.history = async (namespace, key) => {
			const entries = await real.history(namespace, key);
			productionToken = (await real.claim(ns, [{ key: 'k', fingerprint: null }], policy, production, t0 + 2000))[0].claimToken;
			return entries;
		};
		racing.transition = (namespace, requests, actor) => real.transition(namespace, requests, actor, t0 + 2001);
		let claimedAgain = false;
		const holders = await takeOverTestRunClaims(racing, [job], decided, thisTest, true, async () => {
			claimedAgain = true;
			return new Map();
		});
		expect(productionToken).not.toBeNull();
		expect(claimedAgain).toBe(false);
		expect(decided.get(job)!.reason).toBe('in_progress');
		expect(holders.get(job)).toMatchObject({ executionId: 'ex-1', testRun: true });
		expect(await real.get(ns, 'k')).toMatchObject({ state: 'processing', claimToken: productionToken, executionId: 'ex-prod' });
	});

	it('a take-over that fails gives back the keys the first round took (all or nothing), and leaves the held ones', async () => {
		const ns = `undo-${Date.now()}`;
		const policy: ClaimPolicy = { leaseMs: 60_000, retentionMs: 0, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
		const earlierTest = { workflowId: 'wf', executionId: 'ex-1', node: 'Guard (test run)' };
		const thisTest = { workflowId: 'wf', executionId: 'ex-2', node: 'Guard (test run)' };
		await real.claim(ns, [{ key: 'held', fingerprint: null }], policy, earlierTest);
		const jobs: ClaimJob[] = ['fresh', 'held'].map((key) => ({ namespace: ns, request: { key, fingerprint: null } }));
		const decisions = await real.claim(ns, jobs.map((j) => j.request), policy, thisTest);
		const decided = new Map(jobs.map((job, n) => [job, decisions[n]]));
		expect(decisions.map((d) => d.outcome)).toEqual(['new', 'ambiguous']);
		await restoreNews(real, jobs, decided, thisTest);
		expect(await real.get(ns, 'fresh')).toBeNull();
		expect(await real.get(ns, 'held')).toMatchObject({ state: 'processing', executionId: 'ex-1' });
	});
});

