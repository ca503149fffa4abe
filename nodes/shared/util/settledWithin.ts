// Waiting for something at most so long, for the calls that must not hang on a call that may never
// answer (a connection stalled in a failover, a worker that stopped answering).

/**
 * Waits for `work` at most `ms`: true when it settled in time (resolved or rejected — its
 * rejection is handled here, never thrown or left unhandled), false when the time ran out. The
 * timer is cleared when `work` wins and keeps no process alive meanwhile.
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<false>((resolve) => {
		timer = setTimeout(() => resolve(false), ms);
		timer.unref();
	});
	try {
		return await Promise.race([work.then(() => true, () => true), late]);
	} finally {
		clearTimeout(timer);
	}
}
