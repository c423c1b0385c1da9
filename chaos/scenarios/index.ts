/**
 * Every scenario, and the lanes `make chaos` runs them in: lanes run side by side (each scenario has
 * its own simulator, task queue, warehouse file and workers), the scenarios of a lane one after the
 * other. The long, mostly waiting scenarios share lanes with the busy ones to fit the machine; the
 * endings (terminate, timeout, reset, a reused id) mostly wait, in a lane of their own.
 */
import type { Scenario } from '../lib/scenario';
import {
  api429,
  api5xx,
  apiDown,
  connectionResets,
  hangPastTimeout,
  latencySpikes,
  malformedJson,
  oversizeBody,
} from './api-faults';
import { terminateMidStep, workflowTimeout } from './endings';
import { badInput, hostileResponses } from './inputs';
import { temporalRestart, warehouseBusy, workerSigkill } from './process-faults';
import { circuitBreaker, circuitBreakerOff, rateLimit } from './resilience';
import { idReuse, resets } from './resets';
import { secrets } from './security';
import {
  snowflakeEndpointDown,
  snowflakeSessionExpired,
  snowflakeStatementHang,
  snowflakeTwoWorkersMerge,
} from './snowflake';

export const LANES: Scenario[][] = [
  [workerSigkill, apiDown, rateLimit, malformedJson, oversizeBody],
  [temporalRestart, circuitBreaker, warehouseBusy, hangPastTimeout, badInput, secrets],
  [api5xx, connectionResets, latencySpikes, api429, circuitBreakerOff, hostileResponses],
  [terminateMidStep, workflowTimeout, resets, idReuse],
  // The worker on WAREHOUSE=snowflake, each scenario with its own Snowflake emulator.
  [snowflakeTwoWorkersMerge, snowflakeStatementHang, snowflakeSessionExpired, snowflakeEndpointDown],
];

export const ALL_SCENARIOS: Scenario[] = LANES.flat();

/** The quick subset inside `make test` (small sizes, the shared test dev server), in lanes. */
export const QUICK_LANES: Scenario[][] = [
  [circuitBreaker, malformedJson],
  [hostileResponses, api5xx],
  [secrets, badInput],
  // Mostly waiting (on the reconcilers, on runs to close): a lane of their own.
  [terminateMidStep, resets],
  // The Snowflake path (its own emulator): expired session tokens, renewed and then for good.
  [snowflakeSessionExpired],
];

export const QUICK_SCENARIOS: Scenario[] = QUICK_LANES.flat();
