// The Guard's settings for one execution, read once (at item 0) and checked before anything
// touches the store: how keys and fingerprints are built, and the claim policy from its options.

import type { IExecuteFunctions } from 'n8n-workflow';
import { boundedNumber } from '../../shared/engine/bounds';
import { DEFAULT_NORMALIZE, type NormalizeStep } from '../../shared/engine/keys';
import { isWebhookProvider, normalizeHeaderName, type ProviderKeySource } from '../../shared/engine/providerKeys';
import { itemError, operationError } from '../../shared/n8n/errors';
import { fieldPathsParameter } from '../../shared/n8n/fieldPaths';
import type { ClaimPolicy } from '../../shared/store/types';

const DAY_MS = 86_400_000;

export interface GuardOptions {
	normalize?: NormalizeStep[];
	hashKeys?: boolean;
	leaseSeconds?: number;
	retentionDays?: number;
	onInProgress?: 'ambiguous' | 'duplicate' | 'wait';
	waitSeconds?: number;
	onLeaseExpired?: 'ambiguous' | 'reclaim';
	onFailed?: 'retry' | 'ambiguous';
	maxAttempts?: number;
	onPayloadMismatch?: 'ambiguous' | 'duplicate';
	onMissingKey?: 'ambiguous' | 'error';
	onStoreError?: 'error' | 'ambiguous';
	testRunsTakeOver?: boolean;
}

/** The claim policy from the Guard's options; every number in its range. */
export function policyFrom(options: GuardOptions): ClaimPolicy {
	return {
		leaseMs: Math.round(boundedNumber('leaseSeconds', options.leaseSeconds, 300, 0) * 1000),
		retentionMs: Math.round(boundedNumber('retentionDays', options.retentionDays, 30, 0) * DAY_MS),
		onInProgress: options.onInProgress === 'duplicate' ? 'duplicate' : 'ambiguous',
		onLeaseExpired: options.onLeaseExpired === 'reclaim' ? 'reclaim' : 'ambiguous',
		onFailed: options.onFailed === 'ambiguous' ? 'ambiguous' : 'retry',
		maxAttempts: boundedNumber('maxAttempts', options.maxAttempts, 3, 0),
		onPayloadMismatch: options.onPayloadMismatch === 'duplicate' ? 'duplicate' : 'ambiguous',
	};
}

function providerSourceOf(context: IExecuteFunctions): ProviderKeySource {
	const node = context.getNode();
	const provider = context.getNodeParameter('provider', 0, 'standardWebhooks');
	if (!isWebhookProvider(provider)) {
		throw operationError(node, `Unknown webhook provider "${String(provider)}"`, {
			hint: 'Pick a provider from the Provider list, or Custom Header for one that is not listed.',
		});
	}
	if (provider !== 'customHeader') return { provider };
	const headerName = normalizeHeaderName(context.getNodeParameter('headerName', 0, ''));
	if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(headerName)) {
		throw operationError(node, headerName ? `"${headerName}" is not a header name` : 'No header name is set', {
			hint: 'Enter the request header that carries the delivery ID, e.g. x-request-id (letters, digits and dashes, no colon).',
		});
	}
	return { provider, headerName };
}

export interface GuardSettings {
	keySource: 'fields' | 'expression' | 'provider';
	keyFields: string[];
	providerSource: ProviderKeySource | null;
	fingerprintMode: 'none' | 'item' | 'fields';
	fingerprintFields: string[];
	steps: NormalizeStep[];
	hashKeys: boolean;
	onMissingKey: 'ambiguous' | 'error';
	onStoreError: 'error' | 'ambiguous';
	policy: ClaimPolicy;
	/** 0 unless On In-Progress Key is Wait. */
	waitMs: number;
	/** In a manual run, take back what an earlier test run of this workflow left claimed (helpers/testRuns.ts). */
	testRunsTakeOver: boolean;
}

export function guardSettings(ctx: IExecuteFunctions): GuardSettings {
	const node = ctx.getNode();
	const keySource = ctx.getNodeParameter('keySource', 0, 'fields') as GuardSettings['keySource'];
	const fingerprintMode = ctx.getNodeParameter('fingerprint', 0, 'none') as GuardSettings['fingerprintMode'];
	const options = ctx.getNodeParameter('options', 0, {}) as GuardOptions;
	let policy: ClaimPolicy;
	let waitMs = 0;
	try {
		// Before anything touches the store: an expression may give any number.
		policy = policyFrom(options);
		if (options.onInProgress === 'wait') waitMs = Math.round(boundedNumber('waitSeconds', options.waitSeconds, 30, 0) * 1000);
	} catch (error) {
		throw itemError(ctx, error, 0);
	}

	const keyFields = keySource === 'fields' ? fieldPathsParameter(ctx, 'keyFields') : [];
	if (keySource === 'fields' && keyFields.length === 0) {
		throw operationError(node, 'No key fields are set', {
			hint: 'Enter the comma-separated field paths that identify a business event, e.g. body.email, body.source.',
		});
	}
	const providerSource = keySource === 'provider' ? providerSourceOf(ctx) : null;
	const fingerprintFields = fingerprintMode === 'fields' ? fieldPathsParameter(ctx, 'fingerprintFields') : [];
	if (fingerprintMode === 'fields' && fingerprintFields.length === 0) {
		throw operationError(node, 'No fingerprint fields are set', {
			hint: 'Enter the comma-separated fields whose values must match on every delivery, e.g. body.amount, body.currency.',
		});
	}
	return {
		keySource,
		keyFields,
		providerSource,
		fingerprintMode,
		fingerprintFields,
		steps: (options.normalize ?? DEFAULT_NORMALIZE) as NormalizeStep[],
		hashKeys: options.hashKeys === true,
		onMissingKey: options.onMissingKey ?? 'ambiguous',
		onStoreError: options.onStoreError ?? 'error',
		policy,
		waitMs,
		testRunsTakeOver: options.testRunsTakeOver !== false,
	};
}
