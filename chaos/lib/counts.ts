/** What every scenario reports: its counts (the summary table's columns) and its result. */

export interface ScenarioCounts {
  executions: number;
  completed: number;
  errored: number;
  erroredAsExpected: number;
  unexpectedOutcomes: number;
  lost: number;
  duplicateCreates: number;
  duplicateCircuitBreakers: number;
  missingSideEffects: number;
  pollMismatches: number;
  badErrorMessages: number;
  versionRegressions: number;
  secretsFound: number;
  /** Most API requests in any 60 s window while the API was down; null when it never was. */
  maxDeadApiRequestsPerMinute: number | null;
  /** Most API requests that arrived in any 1 s window. */
  peakApiRequestsPerSecond: number;
}

/** Every count at zero (a scenario that crashed, or the start of the checks). */
export function zeroCounts(): ScenarioCounts {
  return {
    executions: 0,
    completed: 0,
    errored: 0,
    erroredAsExpected: 0,
    unexpectedOutcomes: 0,
    lost: 0,
    duplicateCreates: 0,
    duplicateCircuitBreakers: 0,
    missingSideEffects: 0,
    pollMismatches: 0,
    badErrorMessages: 0,
    versionRegressions: 0,
    secretsFound: 0,
    maxDeadApiRequestsPerMinute: null,
    peakApiRequestsPerSecond: 0,
  };
}

export interface ScenarioResult {
  name: string;
  title: string;
  pass: boolean;
  durationMs: number;
  counts: ScenarioCounts;
  metrics: Record<string, number | string | boolean | null>;
  events: { at: number; what: string }[];
  violations: string[];
  /** Outcome per label: how many completed / errored. */
  byLabel: Record<string, { completed: number; error: number; other: number }>;
}
