/**
 * The floor's activities: the project's three API calls by name, each only waiting the simulator's
 * latency (no HTTP client, no warehouse, no validation), so the floor's histories read like the
 * project's (bench/src/history.ts counts these names as API time).
 *
 * With BENCH_FLOOR_IO=1 the floors' activities do the guide's I/O instead of waiting
 * (createFloorIoActivities): what Temporal plus the calls and the rows cost, without the rest of
 * the project.
 */
import { createPolicyApiClient } from '../../src/policy-api/client';
import { initialState } from '../../src/policy/state';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
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

/**
 * The same three activities doing the guide's I/O the simplest way: each makes its HTTP call to the
 * simulator with the project's API client and writes a state row beside it with the project's
 * DuckDB writer (its group commit and file hand-over included), awaited like the project's; the
 * circuit breaker also writes the terminal row after its call: four rows per execution, as the
 * project writes. No validation, search attributes, details, logs, metrics or model refresh.
 */
export function createFloorIoActivities(io: { apiUrl: string; warehousePath: string }) {
  const api = createPolicyApiClient({ baseUrl: io.apiUrl });
  const warehouse = new DuckDbWarehouse({ path: io.warehousePath });
  let version = 0;
  // Rows without the policy and the API's answers (the project's carry them): the floor's I/O is
  // the calls and the statements, not the JSON.
  const write = (executionId: string) => {
    const at = new Date().toISOString();
    const row = initialState({ executionId, workflowId: executionId, runId: null, policy: null, at });
    return warehouse.upsertStates([{ ...row, state_version: ++version }]);
  };
  const beside = async <T>(executionId: string, call: Promise<T>): Promise<T> => {
    const [result] = await Promise.all([call, write(executionId)]);
    return result;
  };
  return {
    async createPolicy(executionId: string) {
      const policy = {
        policy_name: 'floor',
        policy_type: 'floor',
        priority: 'high' as const,
        created_by: 'bench',
        expected_policy_id: executionId,
      };
      const created = await beside(
        executionId,
        api.createPolicy(policy, { idempotencyKey: `${executionId}:create`, executionId }),
      );
      return created.policyId;
    },
    async getPolicyStatus(policyId: string) {
      return (await beside(policyId, api.getPolicyStatus(policyId))).status;
    },
    async triggerCircuitBreaker(policyId: string) {
      const request = {
        policy_id: policyId,
        execution_id: policyId,
        trigger_reason: 'floor',
        timestamp: new Date().toISOString(),
      };
      await beside(policyId, api.triggerCircuitBreaker(request, { idempotencyKey: `${policyId}:circuit` }));
      await write(policyId);
      return `cb-${policyId}`;
    },
  } satisfies Api;
}
