/**
 * What the chart draws, from a run's report input: the latency distributions and completions per
 * second of the project, its floors, the guide shape and the references, and the ratio bars with the
 * targets (targets.ts). Pure.
 */
import type { Bar } from './chart-bars';
import type { ChartInput, Series } from './chart';
import { CORES } from './config';
import type { ReportInput } from './report-input';
import { round } from './stats';
import { targetLimit, targetValue } from './table';

const COLORS = {
  ours: '#1f77b4',
  oursOverhead: '#d62728',
  floor: '#2ca02c',
  floorLocal: '#17becf',
  guide: '#ff7f0e',
  guideFloor: '#bcbd22',
  raw: '#7f7f7f',
  blocking: '#8c564b',
  rss: '#9467bd',
};

function bars(input: ReportInput): Bar[] {
  const { ratios: r, targets } = input;
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const fromTarget = (key: string, label: string, scale = 1): Bar => {
    const t = byKey.get(key);
    if (!t) throw new Error(`no target ${key}`);
    return {
      label,
      value: t.value === null ? null : t.value / scale,
      target: t.limit === null ? null : t.limit / scale,
      met: t.met,
      text: `${targetValue(t)} (${targetLimit({ ...t, limitNote: undefined })})${t.note ? `, ${t.note}` : ''}`,
    };
  };
  const plain = (label: string, value: number | null): Bar => ({
    label,
    value,
    target: null,
    met: null,
    text: value === null ? 'n/a' : `${value}x`,
  });
  const maxWaitS = input.analysis?.dbt.maxWaitS ?? null;
  return [
    fromTarget('throughputVsTemporalFloor', 'executions/s sustained / temporalFloor'),
    plain('executions/s sustained / temporalFloorLocal', r.vsTemporalFloorLocal.throughput),
    fromTarget('isolatedE2eP50VsFloor', 'one alone: end-to-end p50 / temporalFloor'),
    fromTarget('isolatedE2eP95VsFloor', 'one alone: end-to-end p95 / temporalFloor'),
    plain('one alone: end-to-end p50 / temporalFloorLocal', r.vsTemporalFloorLocal.isolatedE2eP50),
    plain('one alone: end-to-end p95 / temporalFloorLocal', r.vsTemporalFloorLocal.isolatedE2eP95),
    plain('N at once: end-to-end p50 / temporalFloor', r.vsTemporalFloor.e2eP50),
    fromTarget('guideWallVsFloor', 'guide shape: wall / its floor'),
    fromTarget('guideE2eP50VsFloor', 'guide shape: end-to-end p50 / its floor'),
    plain('guide shape: end-to-end p95 / its floor', r.guideShape.e2eP95),
    fromTarget('workerPeakRssMb', 'worker peak RSS / 300 MB', 300),
    fromTarget('modelMaxGapS', 'longest refresh gap / DBT_REFRESH_MAX_WAIT_MS', maxWaitS ?? 1),
    fromTarget('dbtInvocationsPerRunDuration', 'dbt invocations per dbt-run duration'),
  ];
}

export function chartInput(input: ReportInput, commit: string | null): ChartInput {
  const { cfg, analysis: a, temporalFloor: f, temporalFloorLocal: fl, guide: g, rawLimit: rawA } = input;
  const { raw, blocking } = input.timings;
  const rate = (b: { executionsPerS: { sustained: number } } | null) => b?.executionsPerS.sustained ?? 'n/a';
  const cdf = (label: string, color: string, values: readonly number[] | undefined, dashed = false) =>
    values && values.length ? [{ label, color, dashed, values }] : [];
  const latency: Series[] = [
    ...cdf('project, N at once: end-to-end', COLORS.ours, a?.values.e2eMs),
    ...cdf('project, N at once: overhead (e2e - API time)', COLORS.oursOverhead, a?.values.overheadMs),
    ...cdf('project, one at a time: end-to-end', COLORS.ours, a?.values.isolatedE2eMs, true),
    ...cdf('temporalFloor, N at once: end-to-end', COLORS.floor, f?.values.e2eMs),
    ...cdf('temporalFloor, one at a time: end-to-end', COLORS.floor, f?.values.isolatedE2eMs, true),
    ...cdf('temporalFloorLocal, N at once: end-to-end', COLORS.floorLocal, fl?.values.e2eMs),
    ...cdf(
      'temporalFloorLocal, one at a time: end-to-end',
      COLORS.floorLocal,
      fl?.values.isolatedE2eMs,
      true,
    ),
    ...cdf('guide shape, project: end-to-end', COLORS.guide, g.temporal?.values.e2eMs),
    ...cdf('guide shape, its floor: end-to-end', COLORS.guideFloor, g.floor?.values.e2eMs),
    ...cdf('raw loop, N at once: end-to-end', COLORS.raw, raw?.e2eMs, true),
    ...cdf('blocking executor: per execution', COLORS.blocking, blocking?.perExecutionMs),
  ];
  const completions = (
    label: string,
    color: string,
    values: readonly number[] | undefined,
    dashed = false,
  ) => (values ? [{ label, color, dashed, values }] : []);
  return {
    title: `policyExecution benchmark: N=${cfg.n} at once, ${cfg.latencyMs} ms per API call, ${CORES} cores`,
    subtitle: [
      `Executions/s sustained: project ${rate(a)}, temporalFloor ${rate(f)}, temporalFloorLocal ${rate(fl)}; ` +
        `raw loop ${rawA?.executionsPerS.overall ?? 'n/a'} (overall); blocking executor ${input.blocking?.executionsPerS ?? 'n/a'}.`,
      `Guide shape (N=${cfg.guideN}): wall ${g.temporal?.makespanS ?? 'n/a'} s vs its floor ${g.floor?.makespanS ?? 'n/a'} s. ` +
        `Worker peak RSS ${a?.worker.peakRssMb ?? 'n/a'} MB with ${a?.peakInFlight ?? 'n/a'} in flight.`,
      `Load average ${input.load.start[0]} -> ${input.load.end[0]} (shared machine` +
        (a
          ? `; ${round(a.cpu.otherShareOfMachine * 100)} % of its CPU used by other work during the project's run`
          : '') +
        `). ${input.startedAt.toISOString().slice(0, 16)}Z, ${commit ?? ''}.`,
    ],
    latency,
    throughput: {
      bucketS: 0.5,
      series: [
        ...completions('project: completions/s', COLORS.ours, a?.timeline.completionsPerS),
        ...completions('project: starts/s', COLORS.ours, a?.timeline.startsPerS, true),
        ...completions('temporalFloor: completions/s', COLORS.floor, f?.values.completionsPerS),
        ...completions('temporalFloorLocal: completions/s', COLORS.floorLocal, fl?.values.completionsPerS),
        ...completions(
          'guide shape, project: completions/s',
          COLORS.guide,
          g.temporal?.values.completionsPerS,
        ),
        ...completions(
          'guide shape, its floor: completions/s',
          COLORS.guideFloor,
          g.floor?.values.completionsPerS,
        ),
      ],
    },
    rss: {
      points: (a?.timeline.workerRssMb ?? []) as [number, number][],
      color: COLORS.rss,
      label: "project's worker RSS (MB, right axis)",
    },
    dbtRuns: (a?.timeline.dbtRuns ?? []) as [number, number][],
    bars: bars(input),
  };
}
