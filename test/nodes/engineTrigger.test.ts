// The Idempotency Trigger polled the way an active workflow polls it in n8n (n8n-core's
// PollTriggerExecutor and PollContext, see test/helpers/n8nEngine.ts), with the stuck claim made
// by a Guard run on n8n's engine: the position lives in the node's own static data, n8n sees the
// change and saves it, a restart continues from the saved copy, and "Fetch Test Event" moves
// nothing. The read logic itself (feeds, filters, crashes before the save) is in
// IdempotencyTrigger.test.ts.

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { SETTLE_MS } from '../../nodes/IdempotencyTrigger/poll';
import { pollOnce, runFlow, TYPES, type Flow, type Poll } from '../helpers/n8nEngine';
import { nodeTestStores } from '../helpers/nodeStores';

let namespace = '';
const { credentials } = nodeTestStores('engine_trigger', 'engine-trigger', (ns) => {
	namespace = ns;
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const keysOf = (items: INodeExecutionData[] | null) => (items ?? []).map((item) => `${item.json.event}:${(item.json._idempotency as IDataObject).key}`);

it('keeps each Trigger\'s position in its own static data, saved by n8n, and restarts from the saved copy', async () => {
	const other = `${namespace}-other`;
	const trigger = (name: string, ns: string) => ({ name, type: TYPES.trigger, parameters: { store: 'postgres', namespace: ns, events: ['stuckClaims'] } });
	const workflow = (staticData: IDataObject): Flow => ({ credentials, nodes: [trigger('Stuck leads', namespace), trigger('Stuck orders', other)], edges: [], staticData });

	// Activation: each Trigger's first poll starts from now and n8n is told to save the position.
	let saved: IDataObject = {};
	for (const name of ['Stuck leads', 'Stuck orders']) {
		const first: Poll = await pollOnce(workflow(saved), name);
		expect(first.emitted).toBeNull();
		expect(first.changed).toBe(true);
		saved = first.staticData;
	}
	expect(Object.keys(saved).sort()).toEqual(['node:Stuck leads', 'node:Stuck orders']);
	expect(saved['node:Stuck leads']).toMatchObject({ cursor: { version: 1 } });

	// A Guard claims a lead for one second and nothing marks it: its lease runs out.
	const guard = await runFlow({
		credentials,
		nodes: [
			{ name: 'Webhook', type: TYPES.source, parameters: { items: JSON.stringify([{ email: 'stuck@x' }]) } },
			{ name: 'Guard', type: TYPES.guard, parameters: { store: 'postgres', namespace, keySource: 'fields', keyFields: 'email', fingerprint: 'none', options: { leaseSeconds: 1 } } },
		],
		edges: [['Webhook', 'Guard']],
	});
	expect(guard.output('Guard', 0)).toHaveLength(1);

	// Every poll runs on a fresh Workflow loaded from what n8n saved, as after a restart.
	const deadline = Date.now() + 1_000 + SETTLE_MS + 10_000;
	let fired: Poll | null = null;
	while (!fired && Date.now() < deadline) {
		const poll = await pollOnce(workflow(saved), 'Stuck leads');
		if (poll.changed) saved = poll.staticData;
		if (poll.emitted) fired = poll;
		else await sleep(500);
	}
	expect(keysOf(fired!.emitted)).toEqual(['stuckClaim:stuck@x']);
	expect(fired!.changed).toBe(true);

	const again = await pollOnce(workflow(saved), 'Stuck leads');
	expect(again.emitted).toBeNull();
	const orders = await pollOnce(workflow(saved), 'Stuck orders');
	expect(orders.emitted).toBeNull();

	// "Fetch Test Event" in the editor shows the latest event and moves no position.
	const test = await pollOnce(workflow(saved), 'Stuck leads', 'manual');
	expect(keysOf(test.emitted)).toEqual(['stuckClaim:stuck@x']);
	expect(test.changed).toBe(false);
	expect(test.staticData).toEqual(saved);
}, 60_000);
