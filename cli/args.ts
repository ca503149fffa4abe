// The command line of `n8n-nodes-idempotency audit` (docs/CONTRACT.md, Idempotency Audit): what
// it reads, how it prints, when it fails. Anything it cannot use is an ArgumentError, which the
// entry point prints with the usage and answers with exit code 2.

import type { Severity } from '../nodes/shared/audit';
import type { VersionChoice } from '../nodes/shared/auditing/workflowInput';

export const USAGE = `Usage: n8n-nodes-idempotency audit [PATH…] [--json | --markdown] [--n8n-url URL [--api-key KEY]]
                                   [--fail-on must|should|never] [--draft] [--quiet]

Finds the writes of n8n workflows that can happen twice or be lost, and says why and how to fix each.

  PATH…              workflow files (one workflow, a list, n8n export:workflow --all, the public
                     API's { data: [...] }) and folders, read recursively (*.json)
  --n8n-url URL      also read every workflow of a running n8n through its public API
                     (e.g. http://localhost:5678); needs an API key with workflow:list
  --api-key KEY      that API key; by default the N8N_API_KEY environment variable
  --draft            audit each workflow's draft instead of its published version (n8n 2.x)
  --json             the report as JSON (version 1)
  --markdown         the report as Markdown, for a pull-request comment
  --quiet            only the summary (terminal output)
  --fail-on LEVEL    exit 1 when a finding not acknowledged is at LEVEL or worse: must (default),
                     should, or never

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 unusable arguments or
no readable workflow.`;

export type FailOn = Severity | 'never';
export type Format = 'terminal' | 'json' | 'markdown';

export interface AuditArgs {
	paths: string[];
	n8nUrl?: string;
	apiKey?: string;
	format: Format;
	failOn: FailOn;
	version: VersionChoice;
	quiet: boolean;
	help: boolean;
}

export class ArgumentError extends Error {}

const FAIL_ON: readonly string[] = ['must', 'should', 'never'];

/** Reads `audit …` (argv after the program name). The API key falls back to N8N_API_KEY. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): AuditArgs {
	const args: AuditArgs = { paths: [], format: 'terminal', failOn: 'must', version: 'published', quiet: false, help: false };
	const rest = [...argv];
	const command = rest.shift();
	if (command === '--help' || command === '-h' || command === 'help') return { ...args, help: true };
	if (command !== 'audit') throw new ArgumentError(command ? `unknown command "${command}": the only command is audit` : 'no command: the only command is audit');
	const formats = new Set<Format>();
	while (rest.length) {
		const arg = rest.shift()!;
		const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
		const value = () => {
			const v = inline ?? rest.shift();
			if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new ArgumentError(`${flag} needs a value`);
			return v;
		};
		switch (flag) {
			case '--help':
			case '-h':
				args.help = true;
				break;
			case '--json':
				formats.add('json');
				break;
			case '--markdown':
				formats.add('markdown');
				break;
			case '--quiet':
				args.quiet = true;
				break;
			case '--draft':
				args.version = 'draft';
				break;
			case '--n8n-url':
				args.n8nUrl = value();
				break;
			case '--api-key':
				args.apiKey = value();
				break;
			case '--fail-on': {
				const level = value();
				if (!FAIL_ON.includes(level)) throw new ArgumentError(`--fail-on ${level}: use must, should or never`);
				args.failOn = level as FailOn;
				break;
			}
			default:
				if (arg.startsWith('-') && arg !== '-') throw new ArgumentError(`unknown option ${flag}`);
				args.paths.push(arg);
		}
	}
	if (args.help) return args;
	if (formats.size > 1) throw new ArgumentError('--json and --markdown exclude each other: choose one');
	args.format = [...formats][0] ?? 'terminal';
	if (args.n8nUrl) {
		let url: URL;
		try {
			url = new URL(args.n8nUrl);
		} catch {
			throw new ArgumentError(`--n8n-url ${args.n8nUrl} is not a URL: write it like http://localhost:5678`);
		}
		if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ArgumentError(`--n8n-url must be http or https, not ${url.protocol}`);
		args.apiKey ??= env.N8N_API_KEY || undefined;
		if (!args.apiKey) throw new ArgumentError('--n8n-url needs an API key: --api-key KEY or the N8N_API_KEY environment variable (n8n: Settings → n8n API)');
	} else if (args.apiKey) {
		throw new ArgumentError('--api-key is only used with --n8n-url');
	}
	if (!args.paths.length && !args.n8nUrl) throw new ArgumentError('nothing to audit: give workflow files or folders, or --n8n-url');
	return args;
}
