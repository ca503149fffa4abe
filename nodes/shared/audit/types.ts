// The idempotency audit's report, field for field as docs/CONTRACT.md and SPEC §13 (`--json`) name
// it. The audit layer (nodes/shared/audit/) is pure: it reads a workflow's JSON and answers this
// shape; the CLI and the Idempotency Audit node only read files or items and print or return it.

/** How bad a finding is: `must` can write twice or lose a write; `should` is noise or a weaker
 * protection; `info` is a node the audit cannot judge. */
export type Severity = 'must' | 'should' | 'info';

/** Rule ids (contract: never renamed; new ones may be added). */
export const RULE_IDS = [
	'unguarded-write',
	'retry-on-fail-write',
	'claim-not-settled',
	'write-error-unhandled',
	'failed-write-settled-as-processed',
	'timeout-retried-as-failure',
	'unstable-key',
	'ambiguous-dropped',
	'agent-tool-write',
	'racy-dedup',
	'unknown-write',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export type CheckState = 'ok' | 'missing' | 'n/a';

/** The six questions of a write audit, per workflow. Each is `n/a` when the workflow has no write. */
export interface Checklist {
	/** Every node that writes is known: `missing` when a Code / Execute Command / unknown node may write. */
	writesMapped: CheckState;
	/** The workflow starts from something the audit knows (a trigger, a sub-workflow call, a tool call). */
	retrySources: CheckState;
	/** Every Guard builds its key from the event (no execution id, clock, random or index). */
	businessKey: CheckState;
	/** Every write that is not idempotent by itself is behind a Guard's New output on every path. */
	checkBeforeWrite: CheckState;
	/** Every guarded write is followed by State Ledger *Mark Processed* on its success path. */
	stateLedger: CheckState;
	/** Every guarded write's errors and every Guard's Ambiguous output go somewhere a person sees. */
	failureOwnership: CheckState;
}

export interface Finding {
	/** Stable across runs: derived from the workflow (id, else name), the rule and the node name. */
	id: string;
	rule: RuleId;
	severity: Severity;
	/** The node's name as in the editor. */
	node: string;
	/** Why this can write twice or lose a write. */
	message: string;
	/** What to change, in the editor's words. */
	fix: string;
	/** Present and true when the node's notes accept this rule (`idempotency-audit: accept <rule> — why`). */
	acknowledged?: boolean;
	/** The reason written after the acceptance, when there is one. */
	acknowledgement?: string;
}

/** What the audit knows about one write. */
export interface WriteInfo {
	node: string;
	/** e.g. `HubSpot contact create`, `HTTP POST`. */
	action: string;
	/** create / update / upsert / delete / notify: how a repeat behaves. */
	kind: WriteKind;
	/** True when a repeat cannot add a second record (upsert, update by key, delete, idempotency key sent). */
	idempotent: boolean;
	/** True when a Guard's New output comes before it on every path from a trigger. */
	guarded: boolean;
}
export type WriteKind = 'create' | 'update' | 'upsert' | 'delete' | 'notify' | 'unknown';

export interface WorkflowAudit {
	file?: string;
	id?: string;
	name: string;
	/** Nodes that start executions (retry sources), by name. */
	triggers: string[];
	/** Nodes that write to another system, by name. */
	writes: string[];
	checklist: Checklist;
	findings: Finding[];
	/** Details of each write, in the order of `writes`. */
	writeDetails: WriteInfo[];
	/** What is wrong with the file itself (connections naming nodes that do not exist, …); the
	 * workflow was audited as far as the rest allows. Absent when nothing is wrong. */
	problems?: string[];
}

export interface AuditError {
	file: string;
	message: string;
}

export interface AuditReport {
	version: 1;
	workflows: WorkflowAudit[];
	errors: AuditError[];
	/** Counts of findings not acknowledged, by severity; `acknowledged` counts the others. */
	summary: { workflows: number; must: number; should: number; info: number; acknowledged: number };
}
