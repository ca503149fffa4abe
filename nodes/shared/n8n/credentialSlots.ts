// The credential slots of every node: the chosen store's credential, required, shown only while
// Store names that store. Each node class writes out the slot's name and testedBy itself — n8n's
// lint rules (credential-test-required, valid-credential-references) read only literals in the
// node class — and spreads the rest from here. test/nodes/layout.test.ts checks that every slot
// names a credential of package.json and a credential test the node's methods have.

import type { INodeCredentialDescription } from 'n8n-workflow';
import type { CredentialKind } from '../store/backends';

export function shownForStore(store: CredentialKind): Pick<INodeCredentialDescription, 'required' | 'displayOptions'> {
	return { required: true, displayOptions: { show: { store: [store] } } };
}

/** A credential only one operation needs (the Router's Slack app for Resolve From Slack Action). */
export function shownForOperation(operation: string): Pick<INodeCredentialDescription, 'required' | 'displayOptions'> {
	return { required: true, displayOptions: { show: { operation: [operation] } } };
}
