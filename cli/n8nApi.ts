// Reads every workflow of a running n8n through its public API: GET /api/v1/workflows with the
// X-N8N-API-KEY header, 250 a page, following nextCursor. The key is sent to that n8n only and
// never printed: error messages name the URL and the status, not the key.

import type { AuditError } from '../nodes/shared/audit';
import { workflowsIn, type VersionChoice, type WorkflowInput } from '../nodes/shared/auditing/workflowInput';

export interface ApiWorkflow extends WorkflowInput {
	id?: string;
}

/** The n8n could not be read at all: the CLI exits 2 with this message. */
export class N8nApiError extends Error {}

const PAGE = 250;
const MAX_PAGES = 10_000;
/** A page that takes longer than this is an n8n that hangs: better a clear exit 2 than a CI job stuck. */
const PAGE_TIMEOUT_MS = 120_000;

/** `http://host:5678`, `http://host:5678/`, `…/api/v1` and `…/api/v1/workflows` all mean the same n8n. */
export function apiBase(url: string): string {
	return url.replace(/\/+$/, '').replace(/\/api\/v1(\/workflows)?$/, '') + '/api/v1';
}

export async function readN8nWorkflows(
	url: string,
	apiKey: string,
	choice: VersionChoice,
	fetchImpl: typeof fetch = fetch,
): Promise<{ workflows: ApiWorkflow[]; errors: AuditError[]; archived: number }> {
	const base = apiBase(url);
	const workflows: ApiWorkflow[] = [];
	const errors: AuditError[] = [];
	let archived = 0;
	let cursor: string | undefined;
	const cursors = new Set<string>();
	for (let page = 0; page < MAX_PAGES; page++) {
		const query = new URLSearchParams({ limit: String(PAGE), excludePinnedData: 'true', ...(cursor ? { cursor } : {}) });
		const where = `${base}/workflows`;
		let response: Response;
		try {
			response = await fetchImpl(`${where}?${query}`, {
				headers: { 'X-N8N-API-KEY': apiKey, accept: 'application/json' },
				signal: AbortSignal.timeout(PAGE_TIMEOUT_MS),
			});
		} catch (error) {
			if ((error as Error)?.name === 'TimeoutError') throw new N8nApiError(`n8n at ${where} did not answer within ${PAGE_TIMEOUT_MS / 1000} s`);
			const cause = (error as { cause?: { code?: string; message?: string } }).cause;
			throw new N8nApiError(`could not reach n8n at ${where}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
		}
		if (response.status === 401 || response.status === 403) {
			throw new N8nApiError(
				`n8n at ${where} refused the API key (${response.status}): create one in n8n under Settings → n8n API with the workflow:list and workflow:read scopes`,
			);
		}
		if (response.status === 404) throw new N8nApiError(`n8n at ${where} answered 404: is this the n8n address, and is its public API enabled (N8N_PUBLIC_API_DISABLED)?`);
		const body = await response.text();
		if (!response.ok) throw new N8nApiError(`n8n at ${where} answered ${response.status}: ${body.slice(0, 200)}`);
		let parsed: { data?: unknown; nextCursor?: unknown };
		try {
			parsed = JSON.parse(body);
		} catch {
			throw new N8nApiError(`n8n at ${where} answered something that is not JSON: ${body.slice(0, 120)}`);
		}
		if (!parsed || !Array.isArray(parsed.data)) throw new N8nApiError(`n8n at ${where} answered without a data list: is this n8n's public API?`);
		for (const [i, raw] of parsed.data.entries()) {
			const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined;
			// archived workflows cannot run: nothing of theirs can write twice
			if ((raw as { isArchived?: unknown })?.isArchived === true) {
				archived++;
				continue;
			}
			const found = workflowsIn(raw, choice);
			const label = `${base}/workflows/${id ?? `page ${page + 1} [${i}]`}`;
			for (const problem of found.problems) errors.push({ file: label, message: problem.message });
			for (const workflow of found.workflows) workflows.push({ ...workflow, id });
		}
		cursor = typeof parsed.nextCursor === 'string' && parsed.nextCursor ? parsed.nextCursor : undefined;
		if (!cursor) break;
		if (cursors.has(cursor)) throw new N8nApiError(`n8n at ${where} answered the same nextCursor twice: stopped paging so as not to loop`);
		cursors.add(cursor);
	}
	return { workflows, errors, archived };
}
