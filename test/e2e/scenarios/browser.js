// n8n's editor in a real browser (Chromium through playwright-core), as a new user meets the
// package: the node panel, each node's panel, the examples imported with the CLI and from a
// file and published with a credential chosen in the UI, a field dragged onto Key Fields, a
// repeated test run, switching the store, and both credentials' tests. One n8n for all of it,
// with the user's own credentials (IDs unlike the ones an example might carry).
'use strict';

const { browserSetup } = require('../browser/setup');
const { browserTests } = require('../browser/tests');

module.exports = {
	name: 'browser',
	async run(ctx) {
		const setup = browserSetup(ctx.services);
		ctx.onCleanup(() => setup.cleanup());
		const n8n = await ctx.startN8n({
			packed: ctx.packed,
			credentials: setup.credentials,
			workflows: Object.values(setup.workflows),
			// published by the tests, from the editor
			publish: false,
		});
		await n8n.login();
		await browserTests(ctx, n8n, setup);
	},
};
