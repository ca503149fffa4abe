// `n8n-nodes-idempotency audit`: reads workflows from files, folders and a running n8n, audits
// each (nodes/shared/audit), prints the report and answers the exit code: 0 nothing at or above
// --fail-on, 1 findings at or above it (acknowledged ones never count), 2 unusable arguments or
// no readable workflow. Everything that touches the world comes in through `io`, for the tests.

import { summarize, type AuditError } from '../nodes/shared/audit';
import { auditInput, type AuditedWorkflow } from '../nodes/shared/auditing/audited';
import { findingsAtLeast } from '../nodes/shared/auditing/severity';
import type { WorkflowInput } from '../nodes/shared/auditing/workflowInput';
import { ArgumentError, parseArgs, USAGE, type AuditArgs } from './args';
import { markdownReport, NO_PAINT, PAINT, terminalReport, type CliReport } from './format';
import { readWorkflowFiles } from './inputs';
import { N8nApiError, readN8nWorkflows } from './n8nApi';

export interface CliIo {
	stdout: (text: string) => void;
	stderr: (text: string) => void;
	env: NodeJS.ProcessEnv;
	cwd: string;
	/** Colours in the terminal report. */
	color: boolean;
	fetch?: typeof fetch;
}

export const EXIT = { ok: 0, findings: 1, unusable: 2 } as const;

/** Audits one input; whatever the analysis cannot read becomes an error entry, never a crash. */
function audited(input: WorkflowInput & { file?: string; id?: string }, errors: AuditError[], label: string): AuditedWorkflow | undefined {
	try {
		return auditInput(input);
	} catch (error) {
		errors.push({ file: label, message: String((error as Error)?.message ?? error) });
		return undefined;
	}
}

/** The report of everything `args` names. Throws N8nApiError when the n8n cannot be read. */
export async function buildReport(args: AuditArgs, io: Pick<CliIo, 'cwd' | 'fetch'>): Promise<CliReport> {
	const errors: AuditError[] = [];
	const workflows: AuditedWorkflow[] = [];
	if (args.paths.length) {
		const files = readWorkflowFiles(args.paths, args.version, io.cwd);
		errors.push(...files.errors);
		for (const input of files.workflows) {
			const audit = audited(input, errors, input.file);
			if (audit) workflows.push(audit);
		}
	}
	if (args.n8nUrl && args.apiKey) {
		const remote = await readN8nWorkflows(args.n8nUrl, args.apiKey, args.version, io.fetch);
		errors.push(...remote.errors);
		for (const input of remote.workflows) {
			const audit = audited(input, errors, `${args.n8nUrl} workflow ${input.id ?? '(no id)'}`);
			if (audit) workflows.push(audit);
		}
	}
	return summarize(workflows, errors) as CliReport;
}

/** 1 when an unacknowledged finding is at or above `failOn`. */
export function exitCodeFor(report: CliReport, failOn: AuditArgs['failOn']): number {
	if (report.workflows.length === 0) return EXIT.unusable;
	if (failOn === 'never') return EXIT.ok;
	return report.workflows.some((w) => findingsAtLeast(w, failOn).length > 0) ? EXIT.findings : EXIT.ok;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
	let args: AuditArgs;
	try {
		args = parseArgs(argv, io.env);
	} catch (error) {
		if (!(error instanceof ArgumentError)) throw error;
		io.stderr(`n8n-nodes-idempotency: ${error.message}\n\n${USAGE}\n`);
		return EXIT.unusable;
	}
	if (args.help) {
		io.stdout(`${USAGE}\n`);
		return EXIT.ok;
	}
	let report: CliReport;
	try {
		report = await buildReport(args, io);
	} catch (error) {
		if (!(error instanceof N8nApiError)) throw error;
		io.stderr(`n8n-nodes-idempotency: ${error.message}\n`);
		return EXIT.unusable;
	}
	if (args.format === 'json') io.stdout(`${JSON.stringify(report, null, 2)}\n`);
	else if (args.format === 'markdown') io.stdout(markdownReport(report));
	else io.stdout(terminalReport(report, { quiet: args.quiet, paint: io.color ? PAINT : NO_PAINT }));
	const code = exitCodeFor(report, args.failOn);
	if (code === EXIT.unusable) io.stderr('n8n-nodes-idempotency: no readable workflow in what was given\n');
	return code;
}
