// The key a Ledger operation acts on, for each item: the Guard's metadata on the item or its
// lineage (with the claim token that settles the claim), or the explicit Namespace, Key and
// Claim Token parameters.

import type { IExecuteFunctions } from 'n8n-workflow';
import { ItemKeys } from '../../shared/n8n/keyReference';
import { ParameterReader } from '../../shared/n8n/parameters';
import { InvalidInputError } from '../../shared/store/errors';
import { validateNamespace } from '../../shared/store/identifiers';

export interface KeyRef {
	namespace: string;
	key: string;
	claimToken: string | null;
}

/** Resolves each item's key by the node's Key Source; `parameters` is the execution's reader. */
export class LedgerKeys {
	private readonly keys: ItemKeys;

	constructor(
		ctx: IExecuteFunctions,
		private readonly parameters: ParameterReader = new ParameterReader(ctx),
	) {
		this.keys = new ItemKeys(ctx, parameters, {
			emptyKey: (i) => [`Item ${i}: Key is empty`, 'Enter the key exactly as the Guard stored it (its _idempotency.key).'],
			noMetadata: (i) => [
				`Item ${i} has no idempotency metadata: it carries no _idempotency and no upstream Idempotency Guard is on its lineage`,
				'Place this node after an Idempotency Guard (directly or behind the write it guards), or set Key Source to Explicit.',
			],
		});
	}

	resolve(itemIndex: number): KeyRef {
		if (this.keys.source === 'explicit') {
			const { namespace, key } = this.keys.explicit(itemIndex);
			const token = String(this.parameters.get('claimToken', itemIndex, '') ?? '').trim();
			return { namespace, key, claimToken: token || null };
		}
		const found = this.keys.metadata(itemIndex);
		if (found.key === null) {
			throw new InvalidInputError(
				`Item ${itemIndex} has no business key (the Guard routed it as ${found.reason ?? 'missing_key'})`,
				'Only items the Guard claimed can be marked; send keyless items to the Exception Router instead.',
			);
		}
		return { namespace: validateNamespace(found.namespace), key: found.key, claimToken: found.claimToken };
	}
}
