/**
 * The floor's activities: the project's three API calls by name, each only waiting the simulator's
 * latency (no HTTP client, no warehouse, no validation), so the floor's histories read like the
 * project's (bench/src/history.ts counts these names as API time).
 */
import type { API_ACTIVITIES } from '../src/history';

type Api = Record<(typeof API_ACTIVITIES)[number], (policyId: string) => Promise<string>>;

export function createFloorActivities(latencyMs: number) {
  const wait = () => new Promise<void>((resolve) => setTimeout(resolve, latencyMs));
  return {
    async createPolicy(policyId: string) {
      await wait();
      return policyId;
    },
    async getPolicyStatus(_policyId: string) {
      await wait();
      return 'success';
    },
    async triggerCircuitBreaker(policyId: string) {
      await wait();
      return `cb-${policyId}`;
    },
  } satisfies Api;
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
