/**
 * The project's figures as ratios of the references (the floors, the guide shape's floor, the raw
 * loop, the blocking executor) and the performance targets, each with met / not met. The one owner
 * of the targets: latest.json, the table and the chart take them from here. Pure.
 */
import type { ReferenceAnalysis } from './analyse-burst';
import type { Analysis, BlockingAnalysis, RawAnalysis } from './analyse';
import { round } from './stats';

export interface Compared {
  n: number;
  ours: Analysis | null;
  temporalFloor: ReferenceAnalysis | null;
  temporalFloorLocal: ReferenceAnalysis | null;
  guide: { temporal: ReferenceAnalysis | null; floor: ReferenceAnalysis | null };
  raw: RawAnalysis | null;
  blocking: BlockingAnalysis | null;
}

const div = (a: number | undefined, b: number | undefined, digits = 2) =>
  a === undefined || b === undefined || !(b > 0) ? null : round(a / b, digits);

/** The project's burst and one-alone figures over a floor's (1 = the floor). */
function vsFloor(ours: Analysis | null, floor: ReferenceAnalysis | null) {
  return {
    throughput: div(ours?.executionsPerS.sustained, floor?.executionsPerS.sustained),
    e2eP50: div(ours?.e2eMs.p50, floor?.e2eMs.p50),
    e2eP95: div(ours?.e2eMs.p95, floor?.e2eMs.p95),
    isolatedE2eP50: div(ours?.isolated.e2eMs.p50, floor?.isolated.e2eMs.p50),
    isolatedE2eP95: div(ours?.isolated.e2eMs.p95, floor?.isolated.e2eMs.p95),
  };
}

export function ratios(c: Compared) {
  const { ours: a, raw, blocking: blk } = c;
  const g = c.guide;
  return {
    vsTemporalFloor: vsFloor(a, c.temporalFloor),
    vsTemporalFloorLocal: vsFloor(a, c.temporalFloorLocal),
    /** The project in the guide shape over the guide shape's floor. */
    guideShape: {
      wall: div(g.temporal?.makespanS, g.floor?.makespanS),
      throughput: div(g.temporal?.executionsPerS.sustained, g.floor?.executionsPerS.sustained),
      e2eP50: div(g.temporal?.e2eMs.p50, g.floor?.e2eMs.p50),
      e2eP95: div(g.temporal?.e2eMs.p95, g.floor?.e2eMs.p95),
    },
    /** Executions per second over the whole run (N / makespan), the project vs the raw loop. */
    throughputVsRaw: div(a?.executionsPerS.overall, raw?.executionsPerS.overall, 4),
    /** The project's sustained rate vs the blocking executor's (extrapolated) rate. */
    throughputVsBlocking: div(a?.executionsPerS.sustained, blk?.executionsPerS, 1),
    /** One execution alone: blocking executor's time (incl. its dbt run) / the project's end-to-end. */
    blockingVsTemporalOneExecution: div(blk?.perExecutionMs.p50, a?.isolated.e2eMs.p50, 1),
    /** Time for all N: blocking (extrapolated) / the project (measured). */
    makespanBlockingVsTemporal: div(blk?.extrapolatedSecondsForN, a?.makespanS, 1),
    dbtInvocationsBlockingVsTemporal:
      blk && a ? round(blk.dbtInvocationsForN / Math.max(1, a.dbt.invocations), 1) : null,
  };
}

export type Ratios = ReturnType<typeof ratios>;

export interface Target {
  key: string;
  /** What is held against what, as the table says it. */
  label: string;
  value: number | null;
  unit: 'x' | 'MB' | 's' | '';
  op: '>=' | '<=';
  limit: number | null;
  /** Where the limit comes from, when it is not a plain number. */
  limitNote?: string;
  met: boolean | null;
  /** What the value needs to be read with (the run's size, in flight). */
  note: string;
}

/** The size at which the freshness target is defined. */
const FRESHNESS_TARGET_N = 10_000;
const RSS_IN_FLIGHT = 1000;

function target(t: Omit<Target, 'met'>): Target {
  const { value, limit, op } = t;
  const met =
    value === null || limit === null || !Number.isFinite(value)
      ? null
      : op === '>='
        ? value >= limit
        : value <= limit;
  return { ...t, met };
}

export function targets(c: Compared, r: Ratios): Target[] {
  const a = c.ours;
  const maxWaitS = a?.dbt.maxWaitS ?? null;
  return [
    target({
      key: 'throughputVsTemporalFloor',
      label: 'executions/s sustained, N at once, vs temporalFloor',
      value: r.vsTemporalFloor.throughput,
      unit: 'x',
      op: '>=',
      limit: 1.0,
      note: '',
    }),
    target({
      key: 'guideWallVsFloor',
      label: 'guide shape: wall time vs its floor',
      value: r.guideShape.wall,
      unit: 'x',
      op: '<=',
      limit: 1.2,
      note: '',
    }),
    target({
      key: 'guideE2eP50VsFloor',
      label: 'guide shape: end-to-end p50 vs its floor',
      value: r.guideShape.e2eP50,
      unit: 'x',
      op: '<=',
      limit: 1.2,
      note: '',
    }),
    target({
      key: 'isolatedE2eP50VsFloor',
      label: 'one alone: end-to-end p50 vs temporalFloor',
      value: r.vsTemporalFloor.isolatedE2eP50,
      unit: 'x',
      op: '<=',
      limit: 1.15,
      note: '',
    }),
    target({
      key: 'isolatedE2eP95VsFloor',
      label: 'one alone: end-to-end p95 vs temporalFloor',
      value: r.vsTemporalFloor.isolatedE2eP95,
      unit: 'x',
      op: '<=',
      limit: 1.3,
      note: '',
    }),
    target({
      key: 'workerPeakRssMb',
      label: `worker peak RSS with ${RSS_IN_FLIGHT} in flight`,
      value: a?.worker.peakRssMb ?? null,
      unit: 'MB',
      op: '<=',
      limit: 300,
      note: a ? `peak ${a.peakInFlight} in flight` : '',
    }),
    target({
      key: 'modelMaxGapS',
      label: `model freshness at N=${FRESHNESS_TARGET_N}: longest gap between refreshes while executions complete`,
      value: a?.dbt.maxGapS ?? null,
      unit: 's',
      op: '<=',
      limit: maxWaitS === null ? null : round(2 * maxWaitS, 2),
      limitNote: '2x DBT_REFRESH_MAX_WAIT_MS',
      note: c.n >= FRESHNESS_TARGET_N ? '' : `measured at N=${c.n}`,
    }),
    target({
      key: 'dbtInvocationsPerRunDuration',
      label: 'dbt invocations per dbt-run duration',
      value: a?.dbt.invocationsPerRunDuration ?? null,
      unit: '',
      op: '<=',
      limit: 1,
      note: '',
    }),
  ];
}
