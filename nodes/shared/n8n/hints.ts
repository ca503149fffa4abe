// Execution hints n8n shows above a node's output in the editor.

import type { IExecuteFunctions } from 'n8n-workflow';
import type { DurabilityReport, IdempotencyStore } from '../store/types';

/** What the hint needs to know about an item held `in_progress`: who holds its key, when known. */
export interface HeldItem {
	reason: string | null | undefined;
	heldBy?: { testRun: boolean } | null;
}

/**
 * A manual (test) run whose items are held as Ambiguous `in_progress`: says who holds the keys
 * and what to do. An earlier test run's claims are taken back by the Guard (option Test Runs Take
 * Over Their Own Claims), so what is still held is either such a claim with the option off, or a
 * claim a test run may not take: a production execution's, another workflow's, or one made
 * before test runs were marked. Only in the editor's manual runs: production executions are not
 * told to Release.
 */
export function hintHeldByEarlierRun(ctx: IExecuteFunctions, items: ReadonlyArray<HeldItem | null>, takeOver = true): void {
	if (typeof ctx.getMode !== 'function' || ctx.getMode() !== 'manual') return;
	if (typeof ctx.addExecutionHints !== 'function') return;
	const held = items.filter((item) => item?.reason === 'in_progress');
	if (held.length === 0) return;
	const byTestRun = held.filter((item) => item?.heldBy?.testRun).length;
	const count = (n: number) => (n === 1 ? '1 item is' : `${n} items are`);
	const release = 'release the key (State Ledger → Release, Key Source Explicit)';
	const message =
		byTestRun > 0 && !takeOver
			? `${count(byTestRun)} Ambiguous (in_progress): an earlier test run of this workflow claimed the key, and nothing marked it processed. ` +
				'Turn on the Guard option "Test Runs Take Over Their Own Claims" to take such keys back, ' +
				'and add a State Ledger "Mark Processed" after your write (and "Mark Failed" on its error output).'
			: `${count(held.length)} Ambiguous (in_progress): another execution holds a live claim on the key — ` +
				'a production execution, another workflow, or a test run from before test runs took back their own claims — ' +
				`and a test run never takes those over. Wait until its lease ends, or ${release} before testing again. ` +
				'Add a State Ledger "Mark Processed" after your write (and "Mark Failed" on its error output).';
	ctx.addExecutionHints({ message, type: 'warning', location: 'outputPane' });
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
