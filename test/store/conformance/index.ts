// The store contract, one suite per concern, run on every backend by its own test file
// (postgres.test.ts, redis.test.ts, redisCluster.test.ts, embedded.test.ts). A backend file hands
// in a factory of fixtures on its own schema / key prefix / data folder, and keeps only what is
// truly its own (key layout, TTLs, SQL plans, migrations).

import { describeClaimConformance } from './claim';
import { describeClosingLoopConformance } from './closingLoop';
import { describeDuplicateRunConformance } from './duplicateRuns';
import { describeEngineConformance } from './engine';
import { describeExceptionConformance } from './exceptions';
import { describeFaultConformance } from './faults';
import { describeFeedConformance } from './feeds';
import type { FixtureFactory } from './fixture';
import { describeInputConformance } from './input';
import { describeKeyConformance } from './keys';
import { describeListConformance } from './list';
import { describePurgeConformance } from './purge';
import { describeRaceConformance } from './races';
import { describeReliabilityConformance } from './reliability';
import { describeReportConformance } from './report';
import { describeStatsConformance } from './stats';
import { describeTransitionConformance } from './transition';

export interface ConformanceOptions {
	/** The backend has a network, and its fixtures openProxied() and openUnreachable(). */
	faults?: boolean;
}

export function describeStoreConformance(name: string, open: FixtureFactory, options: ConformanceOptions = {}): void {
	describeClaimConformance(name, open);
	describeEngineConformance(name, open);
	describeTransitionConformance(name, open);
	describeKeyConformance(name, open);
	describeRaceConformance(name, open);
	describeListConformance(name, open);
	describeStatsConformance(name, open);
	describeReportConformance(name, open);
	describeDuplicateRunConformance(name, open);
	describePurgeConformance(name, open);
	describeExceptionConformance(name, open);
	describeClosingLoopConformance(name, open);
	describeFeedConformance(name, open);
	describeReliabilityConformance(name, open);
	describeInputConformance(name, open);
	if (options.faults) describeFaultConformance(name, open);
}

export * from './fixture';
export { exceptionLockRounds, mixedOperationRounds } from './races';
