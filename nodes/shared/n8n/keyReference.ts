// Which key an item is about, for the nodes that act on keys the Guard claimed (the Ledger, the
// Router): from the Guard's `_idempotency` on the item or its lineage (guardLineage.ts), or from
// explicit Namespace and Key parameters. An explicit key is used as written — " abc" is not
// "abc" — and hashed only where the Guard would have hashed it (storedKeyOf).

import type { IExecuteFunctions } from 'n8n-workflow';
import { storedKeyOf } from '../engine/keys';
import { InvalidInputError } from '../store/errors';
import { validateNamespace } from '../store/identifiers';
import { findMetadata, upstreamGuards, type FoundMetadata } from './guardLineage';
import type { ParameterReader } from './parameters';

export type KeySource = 'metadata' | 'explicit';

/** A problem's message and the hint that says how to fix it. */
export type Problem = readonly [message: string, hint: string];

/** The stored form of a key given as written, or `ifEmpty` when nothing was written. */
export function storedKeyAsWritten(written: unknown, ifEmpty: Problem): string {
	const text = String(written ?? '');
	if (text.length === 0) throw new InvalidInputError(...ifEmpty);
	return storedKeyOf(text);
}

export interface KeyTexts {
	/** The explicit Key parameter is empty. */
	emptyKey: (itemIndex: number) => Problem;
	/** Neither the item nor its lineage carries a Guard's metadata. */
	noMetadata: (itemIndex: number) => Problem;
}

/** Reads the key of each item by the node's Key Source (read once, at item 0). */
export class ItemKeys {
	readonly source: KeySource;
	private readonly guards: string[];

	constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly parameters: ParameterReader,
		private readonly texts: KeyTexts,
	) {
		this.source = ctx.getNodeParameter('keySource', 0, 'metadata') as KeySource;
		// Computed once per execution: the lineage search asks n8n for the graph.
		this.guards = this.source === 'metadata' ? upstreamGuards(ctx) : [];
	}

	/** The Namespace and Key parameters of item `itemIndex`. */
	explicit(itemIndex: number): { namespace: string; key: string } {
		const namespace = validateNamespace(this.parameters.get('namespace', itemIndex));
		const key = storedKeyAsWritten(this.parameters.get('key', itemIndex, ''), this.texts.emptyKey(itemIndex));
		return { namespace, key };
	}

	/** The Guard's metadata for item `itemIndex`: on the item, or on its lineage. */
	metadata(itemIndex: number): FoundMetadata {
		const found = findMetadata(this.ctx, itemIndex, this.guards);
		if (!found) throw new InvalidInputError(...this.texts.noMetadata(itemIndex));
		return found;
	}
}
