// Turns the node's `store` parameter and its credential into a pooled store from the registry.

import type { FunctionsBase, ICredentialDataDecryptedObject, IExecuteFunctions } from 'n8n-workflow';
import { BACKENDS, isStoreKind, storeConfig, STORE_KINDS, type StoreCredential, type StoreKind } from '../store/backends';
import { InvalidInputError } from '../store/errors';
import { nodeError, operationError } from './errors';
import { hintDurability } from './hints';
import { storeFor } from '../store/registry';
import type { IdempotencyStore } from '../store/types';

export type { StoreKind } from '../store/backends';

/**
 * The node's credential for the chosen store, or an error that says which credential to select:
 * none selected (e.g. after switching Store, n8n does not fill the new store's slot), or one
 * that does not exist on this n8n (a workflow imported from elsewhere with its credential ID).
 */
async function storeCredential(
	ctx: Pick<FunctionsBase, 'getCredentials' | 'getNode'>,
	{ type, label }: StoreCredential<unknown>,
	store: string,
): Promise<{ data: ICredentialDataDecryptedObject; id: string | undefined }> {
	const node = ctx.getNode();
	const fix =
		`Open the node "${node.name}" and select an ${label} credential under "Credential to connect with" ` +
		`(or create one there). Store is set to ${store}; after you switch Store, n8n leaves the new store's credential empty.`;
	const selected = node.credentials?.[type];
	if (!selected || (!selected.id && !selected.name)) {
		throw operationError(node, `No ${label} credential is selected`, { hint: fix });
	}
	try {
		return { data: await ctx.getCredentials(type), id: selected.id ?? undefined };
	} catch (error) {
		const text = String((error as Error)?.message ?? error);
		if (/does not exist|not have any credentials|no credentials|could not find/i.test(text)) {
			throw operationError(node, `The selected ${label} credential "${selected.name ?? selected.id}" does not exist on this n8n`, {
				hint: fix,
			});
		}
		throw operationError(node, `Could not read the ${label} credential: ${text}`, { hint: fix });
	}
}

export async function resolveStore(ctx: IExecuteFunctions): Promise<IdempotencyStore> {
	return storeOfKind(ctx, ctx.getNodeParameter('store', 0, 'postgres') as StoreKind);
}

/** The pooled store of a kind, with the node's credential: for nodes without items (the trigger). */
export async function storeOfKind(ctx: Pick<FunctionsBase, 'getCredentials' | 'getNode'>, kind: StoreKind): Promise<IdempotencyStore> {
	if (!isStoreKind(kind)) {
		const names = STORE_KINDS.map((k) => BACKENDS[k].label.replace(/ \(.*\)$/, ''));
		throw new InvalidInputError(
			`Unknown store "${String(kind)}"`,
			`Choose ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]} as the Store.`,
		);
	}
	const backend = BACKENDS[kind];
	if (backend.credential === null) return storeFor(storeConfig(kind));
	const { data, id } = await storeCredential(ctx, backend.credential, backend.label);
	return storeFor(storeConfig(kind, data), id);
}

/**
 * Runs one execution's work against the node's store; a store that cannot be set up, and any
 * error the work does not turn into a NodeOperationError itself, fail the node with `what`.
 */
export async function withStore<T>(ctx: IExecuteFunctions, what: string, work: (store: IdempotencyStore) => Promise<T>): Promise<T> {
	let store: IdempotencyStore;
	try {
		store = await resolveStore(ctx);
	} catch (error) {
		throw nodeError(ctx, error, 'The store is not set up');
	}
	let result: T;
	try {
		result = await work(store);
	} catch (error) {
		throw nodeError(ctx, error, what);
	}
	await hintDurability(ctx, store);
	return result;
}
