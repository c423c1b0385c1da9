/**
 * The floor: plain Temporal workflows of the project's shapes, with nothing of the project around
 * them (no state writes, no search attributes, no model refresh, no input validation), run on the
 * same dev server and worker settings as the project (bench/src/floors.ts). Workflow code: no Node
 * built-ins, activity types only.
 */
import { proxyActivities, proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow';
import { API_ACTIVITY_HEARTBEAT, API_ACTIVITY_START_TO_CLOSE_MS } from '../../src/policy/activity-timeouts';
import type { FloorActivities } from './activities';

// The project's API activities' timeouts, so that the server keeps the same timer for each activity
// and fires it at the same time (20 s after its start: docs/performance-log.md, change 31). Nothing
// here fails or runs that long, so retries never run and no heartbeat is needed.
const remote = proxyActivities<FloorActivities>({
  startToCloseTimeout: API_ACTIVITY_START_TO_CLOSE_MS,
  heartbeatTimeout: API_ACTIVITY_HEARTBEAT.timeoutMs,
});
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: API_ACTIVITY_START_TO_CLOSE_MS });

async function threeCalls(api: FloorActivities, polls: number, pollIntervalMs: number): Promise<string> {
  const policyId = await api.createPolicy(workflowInfo().workflowId);
  for (let i = 0; i < polls; i++) {
    if (i > 0 && pollIntervalMs > 0) await sleep(pollIntervalMs);
    await api.getPolicyStatus(policyId);
  }
  return api.triggerCircuitBreaker(policyId);
}

/** temporalFloor: create, one poll, circuit, as regular activities. */
export async function floorExecution(): Promise<string> {
  return threeCalls(remote, 1, 0);
}

/** temporalFloorLocal: the same three calls as local activities. */
export async function floorExecutionLocal(): Promise<string> {
  return threeCalls(local, 1, 0);
}

/** The guide shape's floor: create, `polls` polls with a durable timer between them, circuit. */
export async function floorGuideShape(shape: { polls: number; pollIntervalMs: number }): Promise<string> {
  return threeCalls(remote, shape.polls, shape.pollIntervalMs);
}
