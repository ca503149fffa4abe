// The audit's rules over one workflow graph: which writes can happen twice or be lost, and why.
// Each finding names the node, the hazard and the fix in the editor's words. The rule ids are a
// contract (docs/CONTRACT.md, "Idempotency audit"); what each rule checks is listed there and in
// the README, "Audit your workflows".

import { getChildNodes, getParentNodes, mapConnectionsByDestination } from 'n8n-workflow';
import type { SavedNode, TriggerKind, WriteClass } from './catalog';
import { RETRY_SOURCE, classifyWrite, ourNode, triggerKind, unstableReason } from './catalog';
import type { Edge, Graph } from './graph';
import { edgesOut, pathTo, reach } from './graph';
import type { RuleId, Severity, WriteInfo } from './types';

export interface RawFinding {
	rule: RuleId;
	severity: Severity;
	node: string;
	message: string;
	fix: string;
}

/** What the rules found, before acknowledgements and ids. */
export interface Analysis {
	triggers: string[];
	writes: WriteInfo[];
	findings: RawFinding[];
	/** Facts the checklist reads. */
	facts: {
		guards: number;
		unknownWrites: number;
		/** Writes that are not idempotent by themselves and that a start reaches. */
		needProtection: number;
		startsKnown: boolean;
	};
}

const q = (name: string): string => `“${name}”`;

const GUARD = 'idempotencyGuard';
const LEDGER = 'stateLedger';
const ROUTER = 'exceptionRouter';

const BRANCH_TYPES = new Set([
	'n8n-nodes-base.if',
	'n8n-nodes-base.switch',
	'n8n-nodes-base.filter',
	'n8n-nodes-base.code',
	'n8n-nodes-base.function',
	'n8n-nodes-base.functionItem',
]);
const REMOVE_DUPLICATES = 'n8n-nodes-base.removeDuplicates';
/** Stores a "have we seen it?" check is often built on, read then written by the same node type. */
const LOCK_STORES = new Set(
	['redis', 'postgres', 'mySql', 'microsoftSql', 'googleSheets', 'airtable', 'dataTable', 'supabase', 'mongoDb', 'nocoDb', 'baserow', 'seaTable', 'notion'].map(
		(name) => `n8n-nodes-base.${name}`,
	),
);

interface Start {
	name: string;
	kind: TriggerKind | 'none';
}

function enabled(node: SavedNode | undefined): node is SavedNode {
	return node !== undefined && node.disabled !== true;
}

function ledgerOperation(node: SavedNode): string | undefined {
	if (ourNode(node) !== LEDGER) return undefined;
	const operation = node.parameters?.operation;
	return typeof operation === 'string' ? operation : 'markProcessed';
}

/** The fields an Edit Fields (Set) node assigns, with their values: v3.3+ `assignments`, older
 * `values.string/number/…`, and the raw JSON mode read as text. */
function setAssignments(node: SavedNode): Array<[string, string]> {
	const p = node.parameters ?? {};
	const out: Array<[string, string]> = [];
	const list = (p.assignments as { assignments?: Array<{ name?: unknown; value?: unknown }> } | undefined)?.assignments ?? [];
	for (const a of list) if (typeof a.name === 'string') out.push([a.name, String(a.value ?? '')]);
	for (const group of Object.values((p.values ?? {}) as Record<string, unknown>))
		if (Array.isArray(group)) for (const a of group) if (a && typeof a.name === 'string') out.push([a.name, String(a.value ?? '')]);
	if (typeof p.jsonOutput === 'string')
		for (const match of p.jsonOutput.matchAll(/["']?([\w.]+)["']?\s*:\s*([^,\n}]+)/g)) out.push([match[1], match[2]]);
	return out;
}

/** Which table, sheet or key a store node reads or writes (as saved), to tell one store's
 * check-then-write apart from two unrelated tables. */
function storeTarget(node: SavedNode): string {
	const p = node.parameters ?? {};
	const pick = (value: unknown) => (value && typeof value === 'object' && 'value' in value ? (value as { value: unknown }).value : value);
	return JSON.stringify([pick(p.documentId), pick(p.sheetName), pick(p.table), p.tableId, pick(p.base), p.collection, p.dataTableId && pick(p.dataTableId), p.databaseId && pick(p.databaseId)]);
}

function isRouterRoute(node: SavedNode): boolean {
	if (ourNode(node) !== ROUTER) return false;
	const operation = node.parameters?.operation;
	return operation === undefined || operation === 'route';
}

/** How a node's errors are handled: n8n's `onError`, or the older `continueOnFail` flag. */
function onError(node: SavedNode): 'stopWorkflow' | 'continueRegularOutput' | 'continueErrorOutput' {
	if (node.onError === 'continueErrorOutput' || node.onError === 'continueRegularOutput') return node.onError;
	if (node.onError === undefined && node.continueOnFail === true) return 'continueRegularOutput';
	return 'stopWorkflow';
}

const describePath = (path: string[]): string => (path.length > 6 ? [...path.slice(0, 2), '…', ...path.slice(-3)] : path).map(q).join(' → ');

export function analyze(graph: Graph): Analysis {
	const findings: RawFinding[] = [];
	const rank: Record<Severity, number> = { info: 0, should: 1, must: 2 };
	// One finding per rule and node, as serious as the worst case found for it.
	const add = (finding: RawFinding) => {
		const same = findings.findIndex((f) => f.rule === finding.rule && f.node === finding.node);
		if (same === -1) findings.push(finding);
		else if (rank[finding.severity] > rank[findings[same].severity]) findings[same] = finding;
	};
	const live = [...graph.nodes.values()].filter(enabled);
	const guards = live.filter((node) => ourNode(node) === GUARD);

	// Starts: the triggers; a workflow without one (an editor-only or damaged file) starts from the
	// nodes nothing leads into.
	const triggerNodes = live.filter((node) => triggerKind(node) !== undefined);
	let starts: Start[] = triggerNodes.map((node) => ({ name: node.name, kind: triggerKind(node)! }));
	if (!starts.length)
		starts = live
			.filter((node) => !(graph.in.get(node.name) ?? []).length && !graph.sub.has(node.name))
			.map((node) => ({ name: node.name, kind: 'none' as const }));

	// Protection: an enabled Guard's New output; for a notification also an Exception Router's outputs
	// (one routing per exception).
	const isGuardNew = (edge: Edge) => edge.output === 0 && enabled(graph.nodes.get(edge.from)) && ourNode(graph.nodes.get(edge.from)!) === GUARD;
	const isRouterOut = (edge: Edge) => enabled(graph.nodes.get(edge.from)) && isRouterRoute(graph.nodes.get(edge.from)!);
	const anyReach = reach(graph, starts.map((s) => s.name));
	const open = starts.map((start) => ({ start, reached: reach(graph, [start.name], isGuardNew) }));
	const openForNotice = starts.map((start) => ({ start, reached: reach(graph, [start.name], (e) => isGuardNew(e) || isRouterOut(e)) }));

	// Tools: nodes attached to an agent (or an MCP server trigger) by an ai_tool connection.
	const toolOf = new Map<string, string>();
	for (const node of live) {
		const roots = getChildNodes(graph.connections, node.name, 'ai_tool', 1);
		if (roots.length) toolOf.set(node.name, roots[0]);
	}
	const reachedAt = (name: string): boolean => anyReach.has(name) || (toolOf.has(name) && anyReach.has(toolOf.get(name)!));

	const writes: WriteInfo[] = [];
	let unknownWrites = 0;
	let needProtection = 0;
	const byDestination = mapConnectionsByDestination(graph.connections);

	for (const node of live) {
		const write = classifyWrite(node);
		if (!write) continue;
		const tool = toolOf.get(node.name);
		const notice = write.kind === 'notify';
		const openRuns = (notice ? openForNotice : open).filter((run) => run.reached.has(node.name));
		const guarded = !tool && reachedAt(node.name) && openRuns.length === 0;
		// Behind a Guard's New output on every path (not only behind a Router): a claim to settle.
		const claimed = guarded && !open.some((run) => run.reached.has(node.name));
		const protects = !write.idempotent && write.kind !== 'unknown';
		if (write.kind === 'unknown') {
			unknownWrites++;
			if ((reachedAt(node.name) && !guarded) || tool) unknownWrite(node, write, tool);
			continue;
		}
		writes.push({ node: node.name, action: write.action, kind: write.kind, idempotent: write.idempotent, guarded });
		if (protects && reachedAt(node.name)) needProtection++;

		if (tool && protects) agentToolWrite(node, write, tool);
		// A check-then-act dedup in front stops a later retry but not two at once: said by racy-dedup.
		else if (openRuns.length && protects && !racyDedup(node, write, openRuns)) unguardedWrite(node, write, openRuns);
		if (node.retryOnFail === true && protects) retryOnFail(node, write);
		if (claimed) settled(node, write);
	}
	for (const guard of guards) {
		guardKey(guard);
		if (!edgesOut(graph, guard.name).some((edge) => edge.output === 2)) ambiguousDropped(guard);
	}

	return {
		triggers: triggerNodes.map((node) => node.name),
		writes,
		findings,
		facts: { guards: guards.length, unknownWrites, needProtection, startsKnown: triggerNodes.length > 0 },
	};

	// ---------------------------------------------------------------------------------------------

	function severityFor(write: WriteClass, kinds: Array<TriggerKind | 'none'> = []): Severity {
		if (write.lowStakes || write.kind === 'notify') return 'should';
		// Started only by hand (or from the editor): a person sees the repeat.
		if (kinds.length && kinds.every((kind) => kind === 'manual' || kind === 'none')) return 'should';
		return 'must';
	}

	function unguardedWrite(node: SavedNode, write: WriteClass, runs: Array<{ start: Start; reached: Map<string, Edge | null> }>) {
		const first = runs.find((run) => run.start.kind !== 'manual' && run.start.kind !== 'none') ?? runs[0];
		const path = pathTo(first.reached, node.name);
		const viaOther = path.slice(0, -1).find((name, i) => {
			const edge = first.reached.get(path[i + 1]);
			return ourNode(graph.nodes.get(name)!) === GUARD && edge && edge.output !== 0;
		});
		const source = RETRY_SOURCE[first.start.kind];
		const what = write.kind === 'notify' ? 'the message is sent again' : `${q(node.name)} (${write.action}) runs again and writes a second time`;
		const where = viaOther
			? `it hangs off ${q(viaOther)}'s Duplicate or Ambiguous output, so it runs for events already handled`
			: `no Idempotency Guard's New output comes before it on the path ${describePath(path)}`;
		add({
			rule: 'unguarded-write',
			severity: severityFor(write, runs.map((run) => run.start.kind)),
			node: node.name,
			message: `${q(node.name)} writes (${write.action}) but ${where}: when ${source}, ${what}.`,
			fix:
				write.kind === 'notify'
					? `Connect ${q(node.name)} after an Idempotency Guard's New output (or after an Exception Router output), or accept the repeated message with a note on the node.`
					: viaOther
						? `Connect ${q(node.name)} to ${q(viaOther)}'s New output instead.`
						: `Add an Idempotency Guard before ${q(node.name)}, keyed on the event's business fields, and connect its New output to ${q(node.name)}; after the write, add State Ledger → Mark Processed.`,
		});
	}

	function agentToolWrite(node: SavedNode, write: WriteClass, agent: string) {
		add({
			rule: 'agent-tool-write',
			severity: write.lowStakes || write.kind === 'notify' ? 'should' : 'must',
			node: node.name,
			message: `${q(node.name)} (${write.action}) is a tool of ${q(agent)}: the model decides when to call it, and a retried or repeated call writes again — no Guard can sit between an agent and a tool node.`,
			fix: `Move ${q(node.name)} into a sub-workflow that starts with an Idempotency Guard keyed on the call's business fields (never a tool-call id), and attach that sub-workflow to ${q(agent)} with a Call n8n Workflow Tool.`,
		});
	}

	function unknownWrite(node: SavedNode, write: WriteClass, agent?: string) {
		add({
			rule: 'unknown-write',
			severity: 'info',
			node: node.name,
			message: `${q(node.name)} may write, but ${write.why ?? 'the audit cannot tell what it does'}${agent ? ` (a tool of ${q(agent)})` : ''}, and no Guard's New output comes before it.`,
			fix: `If ${q(node.name)} changes another system, put it after an Idempotency Guard's New output; if it does not, note on the node "idempotency-audit: accept unknown-write — reads only".`,
		});
	}

	function retryOnFail(node: SavedNode, write: WriteClass) {
		add({
			rule: 'retry-on-fail-write',
			severity: write.lowStakes || write.kind === 'notify' ? 'should' : 'must',
			node: node.name,
			message: `${q(node.name)} (${write.action}) has Retry On Fail on: after a timeout the request may already have been applied, and the retry ${write.kind === 'notify' ? 'sends it again' : 'writes it a second time'}. A Guard before it cannot stop this: it is the same execution.`,
			fix: `Turn off ${q(node.name)} → Settings → Retry On Fail, or send the Guard's key as an Idempotency-Key header ({{ $json._idempotency.key }}) if the API honours one; send errors to the error output and let a person decide on a timeout.`,
		});
	}

	/** The State Ledger and error-handling checks for a write behind a Guard. */
	function settled(node: SavedNode, write: WriteClass) {
		const errors = onError(node);
		const stakes = !write.idempotent && !write.lowStakes && write.kind !== 'notify';
		const guardsBefore = guards.filter((guard) => reach(graph, edgesOut(graph, guard.name).filter((edge) => edge.output === 0)).has(node.name));
		const guardName = guardsBefore.length ? guardsBefore[0].name : 'the Guard';
		const success = reach(graph, edgesOut(graph, node.name).filter((edge) => edge.output === 0));
		const isMark = (name: string, operation: string) => {
			const other = graph.nodes.get(name);
			return enabled(other) && ledgerOperation(other) === operation;
		};
		const markAfter = [...success.keys()].some((name) => isMark(name, 'markProcessed'));
		const afterWrite = reach(graph, [node.name]);
		const markBefore = guardsBefore
			.flatMap((guard) => [...reach(graph, edgesOut(graph, guard.name).filter((edge) => edge.output === 0)).keys()])
			.find((name) => isMark(name, 'markProcessed') && !afterWrite.has(name) && reach(graph, [name]).has(node.name));
		if (markBefore) {
			add({
				rule: 'claim-not-settled',
				severity: 'must',
				node: node.name,
				message: `${q(markBefore)} marks the key processed before ${q(node.name)} writes: if the write fails, every retry is a Duplicate and the write is lost.`,
				fix: `Move ${q(markBefore)} (State Ledger → Mark Processed) after ${q(node.name)}, on its success output.`,
			});
		} else if (!markAfter) {
			add({
				rule: 'claim-not-settled',
				severity: stakes ? 'must' : 'should',
				node: node.name,
				message: `${q(guardName)} claims the key, but nothing marks it processed after ${q(node.name)}: the claim stays "processing" until its lease ends, and then a retry of the event claims it again and ${q(node.name)} writes a second time.`,
				fix: `Add State Ledger → Mark Processed (Key Source: From Guard Metadata) on ${q(node.name)}'s success output.`,
			});
		}
		if (errors === 'stopWorkflow' && (stakes || write.kind === 'notify')) {
			add({
				rule: 'write-error-unhandled',
				severity: stakes ? 'must' : 'should',
				node: node.name,
				message: `An error in ${q(node.name)} stops the workflow: the claim stays "processing", nobody is told, and retrying the execution re-sends every item ${q(node.name)} had already written.`,
				fix: `Set ${q(node.name)} → Settings → On Error to "Continue (using error output)" and connect the error output to an IF that sends timeouts to an Exception Router and other errors to State Ledger → Mark Failed.`,
			});
		} else if (errors === 'continueErrorOutput' && !edgesOut(graph, node.name).some((edge) => edge.output >= 1)) {
			add({
				rule: 'write-error-unhandled',
				severity: stakes ? 'must' : 'should',
				node: node.name,
				message: `${q(node.name)} sends its errors to its error output, but nothing is connected there: a failed write vanishes, its claim stays "processing", and nobody owns it.`,
				fix: `Connect ${q(node.name)}'s error output to an IF that sends timeouts to an Exception Router and other errors to State Ledger → Mark Failed.`,
			});
		}
		if (errors === 'continueRegularOutput') {
			const straight = reach(graph, edgesOut(graph, node.name).filter((edge) => edge.output === 0), (edge) => BRANCH_TYPES.has(graph.nodes.get(edge.from)?.type ?? ''));
			const mark = [...straight.keys()].find((name) => isMark(name, 'markProcessed'));
			if (mark)
				add({
					rule: 'failed-write-settled-as-processed',
					severity: 'must',
					node: node.name,
					message: `${q(node.name)} continues on error through its regular output into ${q(mark)}: a failed write is marked processed, so every retry is a Duplicate and the event is lost.`,
					fix: `Set ${q(node.name)} → Settings → On Error to "Continue (using error output)" and connect the error output to State Ledger → Mark Failed or an Exception Router, not to ${q(mark)}.`,
				});
		}
		if (errors === 'continueErrorOutput' && (stakes || write.kind === 'notify')) {
			const straight = reach(graph, edgesOut(graph, node.name).filter((edge) => edge.output >= 1), (edge) => {
				const from = graph.nodes.get(edge.from);
				return from !== undefined && edge.from !== node.name && (BRANCH_TYPES.has(from.type) || isRouterRoute(from));
			});
			const mark = [...straight.keys()].find((name) => isMark(name, 'markFailed'));
			if (mark)
				add({
					rule: 'timeout-retried-as-failure',
					severity: stakes ? 'must' : 'should',
					node: node.name,
					message: `Every error of ${q(node.name)} goes to ${q(mark)}: a timeout after the write was applied is marked failed, the next delivery is let through as New, and ${q(node.name)} writes a second time.`,
					fix: `Put an IF on ${q(node.name)}'s error output: timeouts and 504s (the write may exist) to an Exception Router with reason write_timeout, refused requests and 4xx answers to ${q(mark)}.`,
				});
		}
	}

	/** Reports a de-duplication in front of an unguarded write that is not atomic; true when one
	 * stops a retry that comes later (then the race, not the retry, is the hazard to report). */
	function racyDedup(node: SavedNode, write: WriteClass, runs: Array<{ start: Start; reached: Map<string, Edge | null> }>): boolean {
		let stopsLaterRetry = false;
		// As serious as the write it fails to protect.
		const severity: Severity = severityFor(write, runs.map((run) => run.start.kind));
		const before = new Set(getParentNodes(byDestination, node.name, 'main'));
		const openBefore = (name: string) => before.has(name) && runs.some((run) => run.reached.has(name));
		for (const name of before) {
			const other = graph.nodes.get(name);
			if (!enabled(other) || other.type !== REMOVE_DUPLICATES || !openBefore(name)) continue;
			const operation = other.parameters?.operation;
			const acrossRuns = operation === 'removeItemsSeenInPreviousExecutions';
			if (acrossRuns) stopsLaterRetry = true;
			add({
				rule: 'racy-dedup',
				severity: acrossRuns ? severity : 'should',
				node: name,
				message: acrossRuns
					? `${q(name)} remembers items before ${q(node.name)} writes them: two deliveries at once both pass it, and an item whose write fails is never retried.`
					: `${q(name)} only removes duplicates inside one execution's items: a second delivery of the same event is a new execution and reaches ${q(node.name)} again.`,
				fix: `Replace ${q(name)} with an Idempotency Guard (New output to ${q(node.name)}) and add State Ledger → Mark Processed after ${q(node.name)}.`,
			});
		}
		// A "seen it?" lock: a read from a store, an IF on whether something was found, then a write
		// to the same store (a status column, a processed flag, the record itself) — check-then-act.
		const existenceTest = /"(?:operation|type)"\s*:\s*"(?:exists|notExists|empty|notEmpty|isEmpty|isNotEmpty)"|\.length\s*(?:===?|>|<|!==?)\s*0/;
		const existenceName = /exist|duplicate|already|seen|\bnew\b|processed|found|posted|\bsent\b|\bdone\b/i;
		for (const branchName of before) {
			const branch = graph.nodes.get(branchName);
			if (!enabled(branch) || !openBefore(branchName)) continue;
			const settings = JSON.stringify(branch.parameters ?? {});
			// The filter that lets only unseen items on: an IF/Switch/Filter testing existence (or named
			// so), a Merge keeping the items that have no match, or Code that says it drops duplicates.
			const filters =
				(['n8n-nodes-base.if', 'n8n-nodes-base.switch', 'n8n-nodes-base.filter'].includes(branch.type) && (existenceTest.test(settings) || existenceName.test(branchName))) ||
				(branch.type === 'n8n-nodes-base.merge' && /keepNonMatches|removeKeyMatches/.test(settings)) ||
				(['n8n-nodes-base.code', 'n8n-nodes-base.function'].includes(branch.type) && (existenceName.test(branchName) || /duplicate|already|existing|unposted|unseen|processed|\.has\(/i.test(settings)));
			if (!filters) continue;
			const afterBranch = [...reach(graph, [branchName]).keys()];
			// The read the IF looks at: its input, or the node before that.
			const sameStore = (check: SavedNode, other: SavedNode | undefined): other is SavedNode =>
				enabled(other) && other.type === check.type && classifyWrite(other) !== undefined && storeTarget(other) === storeTarget(check);
			// An IF tests its input (or the node before); Code may compare with a read made anywhere before.
			const depth = branch.type === 'n8n-nodes-base.code' || branch.type === 'n8n-nodes-base.function' ? -1 : 2;
			const name = getParentNodes(byDestination, branchName, 'main', depth).find((n) => {
				const check = graph.nodes.get(n);
				if (!enabled(check) || !LOCK_STORES.has(check.type) || classifyWrite(check)) return false;
				return afterBranch.some((m) => sameStore(check, graph.nodes.get(m)));
			});
			if (name === undefined) continue;
			const check = graph.nodes.get(name)!;
			// The write itself when it goes to the same store (look up, then create), else the first write there.
			const set = sameStore(check, node) && afterBranch.includes(node.name) ? node.name : afterBranch.find((n) => sameStore(check, graph.nodes.get(n)));
			if (!set) continue;
			stopsLaterRetry = true;
			add({
				rule: 'racy-dedup',
				severity,
				node: name,
				message:
					set === node.name
						? `${q(name)} looks for the record and ${q(branch.name)} lets ${q(node.name)} create it when none is found: two deliveries at once both find nothing, and both create it.`
						: `${q(name)} checks whether the event was seen and ${q(set)} records it: two deliveries at once both read "not seen" before either writes, and both reach ${q(node.name)}.`,
				fix:
					set === node.name
						? `Put an Idempotency Guard keyed on the record's business key in front of ${q(name)} and connect its New output onward, so one delivery at a time can create it; add State Ledger → Mark Processed after ${q(node.name)}.`
						: `Replace ${q(name)}, the IF after it and ${q(set)} with an Idempotency Guard (one atomic claim) whose New output leads to ${q(node.name)}.`,
			});
		}
		return stopsLaterRetry;
	}

	function guardKey(guard: SavedNode) {
		const parameters = guard.parameters ?? {};
		const source = typeof parameters.keySource === 'string' ? parameters.keySource : 'fields';
		const key = source === 'expression' ? parameters.key : source === 'fields' ? parameters.keyFields : undefined;
		let why = typeof key === 'string' ? unstableReason(key) : undefined;
		let where = `${q(guard.name)}'s key uses`;
		if (!why && source === 'fields' && typeof key === 'string') {
			// A key field an Edit Fields (Set) node before the Guard fills from the clock or the execution.
			const fields = key.split(',').map((f) => f.trim()).filter(Boolean);
			for (const name of getParentNodes(byDestination, guard.name, 'main')) {
				const before = graph.nodes.get(name);
				if (!enabled(before) || before.type !== 'n8n-nodes-base.set') continue;
				for (const [field, value] of setAssignments(before)) {
					if (!fields.some((f) => f === field || f.endsWith(`.${field}`) || field.endsWith(`.${f}`))) continue;
					const unstable = unstableReason(value);
					if (!unstable) continue;
					why = unstable;
					where = `${q(guard.name)}'s key field ${field}, set by ${q(name)}, uses`;
					break;
				}
				if (why) break;
			}
		}
		if (!why) return;
		add({
			rule: 'unstable-key',
			severity: 'must',
			node: guard.name,
			message: `${where} ${why}: a retry of the same event gets a new key, passes as New, and the write after it happens again.`,
			fix: `Build ${q(guard.name)}'s key from the event's business fields (Key Source: Fields, e.g. body.invoiceNumber, body.supplierId) or the provider's delivery id (Key Source: Webhook Provider).`,
		});
	}

	function ambiguousDropped(guard: SavedNode) {
		add({
			rule: 'ambiguous-dropped',
			severity: 'must',
			node: guard.name,
			message: `Nothing is connected to ${q(guard.name)}'s Ambiguous output: an event the Guard cannot decide (in progress, lease expired, payload changed, key missing, store down) is dropped without a write and without an owner.`,
			fix: `Connect ${q(guard.name)}'s Ambiguous output to an Exception Router (Reason: From Item) that tells its owner, e.g. in Slack.`,
		});
	}
}

