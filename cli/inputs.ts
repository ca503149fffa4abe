// Reads the workflow files and folders named on the command line. A folder is read recursively
// for *.json (node_modules and hidden folders left out); a file that is not JSON, or JSON that
// is not a workflow, becomes one entry in the report's errors — never a crash.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AuditError } from '../nodes/shared/audit';
import { located, workflowsIn, type VersionChoice, type WorkflowInput } from '../nodes/shared/auditing/workflowInput';

export interface FileWorkflow extends WorkflowInput {
	/** The file, as the user named it (relative to the working folder when inside it). */
	file: string;
}

/** Every *.json under `dir`, sorted so two runs list them alike. */
export function jsonFilesUnder(dir: string): string[] {
	const found: string[] = [];
	const walk = (folder: string) => {
		for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
			if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
			const path = join(folder, entry.name);
			if (entry.isDirectory()) walk(path);
			else if (entry.isFile() && entry.name.toLowerCase().endsWith('.json')) found.push(path);
		}
	};
	walk(dir);
	return found;
}

export function readWorkflowFiles(paths: readonly string[], choice: VersionChoice, cwd = process.cwd()): { workflows: FileWorkflow[]; errors: AuditError[] } {
	const workflows: FileWorkflow[] = [];
	const errors: AuditError[] = [];
	const shown = (path: string) => {
		const rel = relative(cwd, path);
		return rel && !rel.startsWith('..') ? rel : path;
	};
	for (const path of paths) {
		let files: string[];
		try {
			files = statSync(path).isDirectory() ? jsonFilesUnder(path) : [path];
		} catch (error) {
			errors.push({ file: path, message: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : String((error as Error).message) });
			continue;
		}
		if (files.length === 0) errors.push({ file: path, message: 'a folder without .json files' });
		for (const file of files) {
			const name = shown(file);
			let parsed: unknown;
			try {
				parsed = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
			} catch (error) {
				errors.push({ file: name, message: error instanceof SyntaxError ? `invalid JSON: ${error.message}` : String((error as Error).message) });
				continue;
			}
			const found = workflowsIn(parsed, choice);
			for (const problem of found.problems) errors.push({ file: located(name, problem.at), message: problem.message });
			for (const workflow of found.workflows) workflows.push({ ...workflow, file: located(name, workflow.at) });
		}
	}
	return { workflows, errors };
}
