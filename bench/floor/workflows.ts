/**
 * The floor: plain Temporal workflows of the project's shapes, with nothing of the project around
 * them (no state writes, no search attributes, no model refresh, no input validation), run on the
 * same dev server and worker settings as the project (bench/src/floors.ts). Workflow code: no Node
 * built-ins, activity types only.
 */
import { proxyActivities, proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { FloorActivities } from './activities';

// The project's API activities have the same timeout; nothing here fails, so retries never run.
const remote = proxyActivities<FloorActivities>({ startToCloseTimeout: '45 s' });
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '45 s' });

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
