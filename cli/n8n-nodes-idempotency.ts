#!/usr/bin/env node
// The package's command (package.json `bin`): `npx n8n-nodes-idempotency audit …`. Plain Node
// (20 and later), no dependency beyond the package's own; the work is in audit.ts.

import { main } from './audit';

main(process.argv.slice(2), {
	stdout: (text) => process.stdout.write(text),
	stderr: (text) => process.stderr.write(text),
	env: process.env,
	cwd: process.cwd(),
	color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
}).then(
	(code) => {
		process.exitCode = code;
	},
	(error: unknown) => {
		process.stderr.write(`n8n-nodes-idempotency: unexpected failure, please report it: ${(error as Error)?.stack ?? String(error)}\n`);
		process.exitCode = 3; // not one of the documented codes: a bug, never "nothing readable"
	},
);
