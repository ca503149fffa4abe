// What the idempotency audit reads, in every shape n8n writes workflows: one workflow, a list of
// them (`n8n export:workflow --all`), the public API's `{ data: [...] }` page, nested any of
// these ways. And, since n8n 2.x keeps a draft next to the published version, which of the two
// is audited: the published one (what runs) unless the caller asks for the draft. Pure: the CLI
// and the Idempotency Audit node hand it parsed JSON.

/** One workflow to audit, with where it came from and which version of it this is. */
export interface WorkflowInput {
	/** The workflow as the audit reads it: `nodes` + `connections` of the chosen version. */
	workflow: Record<string, unknown>;
	/** Where in the input it was: `[3]`, `data[0]`; empty for a lone workflow. */
	at: string;
	/** n8n 2.x only: which version was read. Absent for files without version fields (n8n 1.x, templates). */
	read?: 'published' | 'draft';
	/** The version id of what was read, when n8n said it. */
	versionId?: string;
	/** What was not read, when the draft and the published version differ. */
	versionNote?: string;
}

/** An input (or a part of one) that is not a workflow. */
export interface InputProblem {
	at: string;
	message: string;
}

export type VersionChoice = 'published' | 'draft';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);

/** `list.json[0]`, `page.json data[2]`: an input's name with where in it a workflow or problem was. */
export function located(name: string, at: string): string {
	return !at || at.startsWith('[') ? `${name}${at}` : `${name} ${at}`;
}

/** True for what the audit can read as a workflow: an object with a `nodes` list. */
export function looksLikeWorkflow(value: unknown): value is Json {
	return isObject(value) && Array.isArray(value.nodes);
}

/**
 * Every workflow in a parsed input, and every part of it that is not one. `value` may be one
 * workflow, a list, `{ data: [...] }` (the public API, the n8n node's raw answer), or any
 * nesting of these.
 */
export function workflowsIn(value: unknown, choice: VersionChoice = 'published'): { workflows: WorkflowInput[]; problems: InputProblem[] } {
	const workflows: WorkflowInput[] = [];
	const problems: InputProblem[] = [];
	const visit = (part: unknown, at: string, depth: number) => {
		if (looksLikeWorkflow(part)) return void workflows.push({ ...chooseVersion(part, choice), at });
		if (depth < 4 && Array.isArray(part)) {
			if (part.length === 0 && depth === 0) return void problems.push({ at, message: 'an empty list: no workflow in it' });
			return part.forEach((element, i) => visit(element, `${at}[${i}]`, depth + 1));
		}
		if (depth < 4 && isObject(part) && Array.isArray(part.data)) return visit(part.data, `${at}${at ? '.' : ''}data`, depth + 1);
		problems.push({ at, message: notAWorkflow(part) });
	};
	visit(value, '', 0);
	return { workflows, problems };
}

function notAWorkflow(value: unknown): string {
	if (isObject(value)) {
		const keys = Object.keys(value).slice(0, 6);
		return `not a workflow: an object without a "nodes" list (it has ${keys.length ? keys.map((k) => `"${k}"`).join(', ') : 'no fields'})`;
	}
	return `not a workflow: ${value === null ? 'null' : Array.isArray(value) ? 'a list nested too deep' : `a ${typeof value}`}`;
}

/**
 * The version of one workflow the audit reads. n8n 2.x answers both: the draft at the top
 * (`nodes`, `connections`, `versionId`) and, once published, the published version in
 * `activeVersion` (its own `nodes`, `connections`, `versionId`; `activeVersionId` names it).
 * Executions run the published version, so it is read unless `choice` is `draft`.
 */
export function chooseVersion(workflow: Json, choice: VersionChoice = 'published'): Omit<WorkflowInput, 'at'> {
	const draftId = text(workflow.versionId);
	const active = isObject(workflow.activeVersion) ? workflow.activeVersion : undefined;
	const publishedId = text(active?.versionId) ?? text(workflow.activeVersionId);
	const hasVersionFields = 'activeVersionId' in workflow || 'activeVersion' in workflow;
	if (!hasVersionFields) return { workflow };

	const differ = publishedId !== undefined && draftId !== undefined && publishedId !== draftId;
	if (choice === 'published' && active && Array.isArray(active.nodes)) {
		const published = { ...workflow, nodes: active.nodes, connections: active.connections ?? {}, name: text(active.name) ?? workflow.name };
		return {
			workflow: published,
			read: 'published',
			versionId: publishedId,
			...(differ ? { versionNote: `the draft (version ${draftId}) has changes that are not published; it was not audited` } : {}),
		};
	}
	if (!publishedId) return { workflow, read: 'draft', versionId: draftId, versionNote: 'never published' };
	if (!differ) return { workflow, read: 'published', versionId: publishedId };
	return {
		workflow,
		read: 'draft',
		versionId: draftId,
		versionNote:
			choice === 'draft'
				? `the published version ${publishedId} differs; it was not audited`
				: `the published version ${publishedId} is not in this input; the draft was audited instead`,
	};
}
