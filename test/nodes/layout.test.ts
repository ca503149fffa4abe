// The node layer's layout holds together: each node's router knows exactly the operations its
// Operation list offers and refuses any other with a clear error; the four Ledger transitions,
// built by one factory, each add only their own inputs; the outputs the editor draws agree with
// the outputs each operation returns; every credential slot names a credential of this package
// and a test its node has; and no node imports another node's files.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { NodeOperationError, type IDataObject, type INodeProperties, type INodeType } from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { operations as routerOperations } from '../../nodes/ExceptionRouter/actions/router';
import { configuredOutputs as routerOutputs } from '../../nodes/ExceptionRouter/actions/versionDescription';
import { IdempotencyAudit } from '../../nodes/IdempotencyAudit/IdempotencyAudit.node';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { IdempotencyTrigger } from '../../nodes/IdempotencyTrigger/IdempotencyTrigger.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { operations as ledgerOperations } from '../../nodes/StateLedger/actions/router';
import { configuredOutputs as ledgerOutputs } from '../../nodes/StateLedger/actions/versionDescription';
import { isTransitionKind } from '../../nodes/shared/n8n/options';
import { BACKENDS, STORE_KINDS } from '../../nodes/shared/store/backends';
import { TRANSITION_KINDS } from '../../nodes/shared/store/types';
import { mockContext } from '../helpers/n8nContext';
import { nodeTestStores } from '../helpers/nodeStores';

let namespace = '';
const { credentials } = nodeTestStores('layout_node', 'layout', (ns) => {
	namespace = ns;
});

const operationValues = (properties: INodeProperties[]) =>
	(properties.find((p) => p.name === 'operation')?.options ?? []).map((o) => (o as { value: string }).value);

describe.each([
	['State Ledger', () => new StateLedger(), ledgerOperations, ledgerOutputs],
	['Exception Router', () => new ExceptionRouter(), routerOperations, routerOutputs],
] as const)('%s router', (_name, make, operations, configuredOutputs) => {
	it('dispatches exactly the operations the Operation list offers, in its order', () => {
		expect(Object.keys(operations)).toEqual(operationValues(make().description.properties));
	});

	it.each([[[{ json: {} }]], [[]]])('refuses an unknown operation with a NodeOperationError naming the known ones (input %j)', async (items) => {
		const context = mockContext({ items, parameters: { store: 'postgres', operation: 'teleport' }, credentials });
		const run = make().execute!.call(context);
		await expect(run).rejects.toBeInstanceOf(NodeOperationError);
		await expect(make().execute!.call(context)).rejects.toThrow(`Unknown operation "teleport"`);
		const error = (await make().execute!.call(context).catch((e: NodeOperationError) => e)) as NodeOperationError;
		expect(error.description).toContain(Object.keys(operations).join(', '));
	});

	it('returns as many empty outputs as the editor draws for an empty input', async () => {
		for (const operation of Object.keys(operations)) {
			const parameters = { store: 'postgres', operation, rules: { rule: [{ outputName: 'Finance' }, { outputName: '' }] } };
			const outputs = await make().execute!.call(mockContext({ items: [], parameters, credentials }));
			expect(outputs).toEqual(configuredOutputs(parameters as never).map(() => []));
		}
	});
});

describe('the Ledger transitions (one factory)', () => {
	it('are the operations whose editor outputs are Applied and Rejected', () => {
		for (const operation of Object.keys(ledgerOperations)) {
			const drawn = ledgerOutputs({ operation }).map((o) => o.displayName ?? 'main');
			expect(drawn).toEqual(isTransitionKind(operation) ? ['Applied', 'Rejected'] : ['main']);
		}
		expect(Object.keys(ledgerOperations).filter(isTransitionKind)).toEqual([...TRANSITION_KINDS]);
	});

	it('each record their own kind and add only their own inputs (result, error message)', async () => {
		const ledger = (operation: string, key: string) =>
			new StateLedger().execute.call(
				mockContext({
					items: [{ json: { error: { message: 'CRM said 500' } } }],
					nodeName: 'Ledger',
					// Every transition is given a result and an error message; only its own may be used.
					parameters: { store: 'postgres', operation, keySource: 'explicit', namespace, key, claimToken: '', result: '{"contactId":"c-1"}', errorMessage: '', options: { force: true } },
					credentials,
				}),
			);
		const record = async (key: string) => {
			const [[got]] = await ledger('get', key);
			return got.json;
		};
		await ledger('markReceived', 'k-release'); // a key to release
		for (const kind of TRANSITION_KINDS) {
			const [applied, rejected] = await ledger(kind, `k-${kind}`);
			expect(rejected).toEqual([]);
			expect(applied[0].json.ledger).toMatchObject({ operation: kind, namespace, key: `k-${kind}`, applied: true });
		}
		expect(await record('k-markProcessed')).toMatchObject({ state: 'processed', result: { contactId: 'c-1' }, lastError: null });
		expect(await record('k-markFailed')).toMatchObject({ state: 'failed', result: null, lastError: 'CRM said 500' });
		expect(await record('k-markReceived')).toMatchObject({ state: 'received', result: null, lastError: null });
		expect(await record('k-release')).toMatchObject({ state: null });
	});
});

describe('credential slots', () => {
	const packageJson = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { n8n: { credentials: string[] } };
	const credentialNames = packageJson.n8n.credentials.map((file) => {
		const source = readFileSync(join(__dirname, '../..', file.replace(/^dist\//, '').replace(/\.js$/, '.ts')), 'utf8');
		return /\bname = '([^']+)'/.exec(source)?.[1];
	});

	it.each([
		['Idempotency Guard', new IdempotencyGuard()],
		['State Ledger', new StateLedger()],
		['Exception Router', new ExceptionRouter()],
		['Idempotency Trigger', new IdempotencyTrigger()],
	] as Array<[string, INodeType]>)('%s has one slot per store with a credential: its credential, tested by its own methods, shown for that store', (_name, node) => {
		const slots = node.description.credentials ?? [];
		for (const slot of slots) expect(credentialNames).toContain(slot.name);
		const tests = Object.keys((node.methods?.credentialTest ?? {}) as IDataObject);
		const expected = STORE_KINDS.flatMap((kind) => {
			const credential = BACKENDS[kind].credential;
			return credential ? [{ name: credential.type, testedBy: `${credential.type}Test`, required: true, displayOptions: { show: { store: [kind] } } }] : [];
		});
		// The Router alone has one more: the Slack app whose clicks Resolve From Slack Action checks.
		if (node instanceof ExceptionRouter) {
			expected.push({ name: 'idempotencySlackApi', testedBy: 'idempotencySlackApiTest', required: true, displayOptions: { show: { operation: ['resolveFromSlack'] } } } as never);
		}
		expect(slots).toEqual(expected);
		for (const slot of slots) expect(tests).toContain(slot.testedBy);
	});
});

describe('node folders', () => {
	const nodesDir = resolve(__dirname, '../../nodes');
	const nodeFolders = readdirSync(nodesDir).filter((name) => name !== 'shared' && statSync(join(nodesDir, name)).isDirectory());
	const sources = (dir: string): string[] =>
		readdirSync(dir).flatMap((name) => {
			const path = join(dir, name);
			return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
		});

	it.each(nodeFolders)('%s imports no other node’s files', (folder) => {
		const foreign: string[] = [];
		for (const file of sources(join(nodesDir, folder))) {
			for (const [, target] of readFileSync(file, 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\(\s*)'(\.[^']+)'/g)) {
				const owner = relative(nodesDir, resolve(dirname(file), target)).split('/')[0];
				if (owner !== folder && owner !== 'shared') foreign.push(`${relative(nodesDir, file)} → ${target}`);
			}
		}
		expect(foreign).toEqual([]);
	});
});


// n8n resolves which parameters a node shows by the names its conditions give. A condition on a
// path inside a collection (`rules.rule`) or on a name the node does not have is one n8n 1.123
// cannot resolve: it refuses to activate every workflow with the node ("Could not resolve
// parameter dependencies").
describe('display conditions', () => {
	const nodes: Array<[string, INodeType]> = [
		['Idempotency Guard', new IdempotencyGuard()],
		['State Ledger', new StateLedger()],
		['Exception Router', new ExceptionRouter()],
		['Idempotency Trigger', new IdempotencyTrigger()],
		['Idempotency Audit', new IdempotencyAudit()],
	];
	it.each(nodes)('%s: every show/hide condition names one of its own top-level parameters', (_name, node) => {
		const names = new Set(node.description.properties.map((p: INodeProperties) => p.name));
		const unknown: string[] = [];
		for (const property of node.description.properties) {
			for (const conditions of [property.displayOptions?.show, property.displayOptions?.hide]) {
				for (const name of Object.keys(conditions ?? {})) {
					if (name !== '@version' && !names.has(name)) unknown.push(`${property.name} → ${name}`);
				}
			}
		}
		expect(unknown).toEqual([]);
	});
});
