// Execution hints n8n shows above a node's output in the editor.

import type { IExecuteFunctions } from 'n8n-workflow';
import type { DurabilityReport, IdempotencyStore } from '../store/types';

/**
 * A manual (test) run whose items are held as Ambiguous `in_progress`: the usual cause is an
 * earlier test run that claimed the same key and nothing marked it processed. Says so, and
 * what to do. Only in the editor's manual runs: production executions are not told to Release.
 */
export function hintHeldByEarlierRun(ctx: IExecuteFunctions, reasons: ReadonlyArray<string | null | undefined>): void {
	if (typeof ctx.getMode !== 'function' || ctx.getMode() !== 'manual') return;
	if (typeof ctx.addExecutionHints !== 'function') return;
	const held = reasons.filter((reason) => reason === 'in_progress').length;
	if (held === 0) return;
	ctx.addExecutionHints({
		message:
			`${held === 1 ? '1 item is' : `${held} items are`} Ambiguous (in_progress): an earlier run — ` +
			'usually an earlier test run of this workflow — claimed the key, and nothing marked it processed. ' +
			'Add a State Ledger "Mark Processed" after your write (and "Mark Failed" on its error output), ' +
			'or release the key (State Ledger → Release, Key Source Explicit) before testing again.',
		type: 'warning',
		location: 'outputPane',
	});
}

/**
 * The store's durability warnings nobody accepted in the credential (store/types.ts
 * DurabilityReport): loss on a crash or a failover the setup allows, or settings the server
 * would not show. Read from what the store already knows (it reads its server at first use and
 * on reconnect), so this costs no round trip per execution; a store that cannot say adds nothing.
 */
export async function hintDurability(ctx: IExecuteFunctions, store: Pick<IdempotencyStore, 'durability'>): Promise<void> {
	if (typeof ctx.addExecutionHints !== 'function') return;
	let report: DurabilityReport;
	try {
		report = await store.durability();
	} catch {
		return;
	}
	const open = report.findings.filter((finding) => !finding.accepted && finding.level !== 'refuse');
	if (open.length === 0) return;
	ctx.addExecutionHints({
		message:
			'The idempotency store may lose writes it acknowledged, and then let a processed event through as New again: ' +
			open.map((f) => `${f.setting}. ${f.risk} ${f.fix}`).join(' '),
		type: 'warning',
		location: 'outputPane',
	});
}
