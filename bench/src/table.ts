/**
 * The markdown tables of latest.md (and the end of `make bench`): the project against its floors, the
 * guide shape against its floor, the targets with met / not met, and the details against the raw loop
 * and the blocking executor. Pure.
 */
import type { ReferenceAnalysis } from './analyse-burst';
import type { ReportInput } from './report-input';
import { CORES } from './config';
import { GUIDE_SHAPE } from './guide';
import { DRIFT_WARNING, type Bracket } from './bracket';
import { round } from './stats';
import type { Target } from './targets';

type Cell = string | number | null | undefined;
const na = (v: Cell) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : String(v));
const x = (v: number | null) => (v === null ? 'n/a' : `${v}x`);
const pair = (a: Cell, b: Cell) => (a === undefined && b === undefined ? 'n/a' : `${na(a)} / ${na(b)}`);
const row = (cells: Cell[]) => `| ${cells.map((c) => na(c)).join(' | ')} |`;
const header = (cells: string[]) => [row(cells), `|${cells.map(() => '---').join('|')}|`];

/** A warning when a floor's API activities were scheduled with other timeouts than the project's. */
function timeoutsNote(
  name: string,
  ours: { apiActivityTimeouts: string[] } | null,
  floor: { apiActivityTimeouts: string[] } | null,
): string[] {
  const o = ours?.apiActivityTimeouts.join(' | ');
  const f = floor?.apiActivityTimeouts.join(' | ');
  if (o === undefined || f === undefined || o === f) return [];
  return [
    '',
    `**${name}'s API activities were scheduled with other timeouts than the project's (${f} against ${o}): ` +
      'the server fires their timers at other times, so one part pays for the timers of another.**',
  ];
}

/** Below a floor's table: its two runs around the project's, and a warning when the machine moved. */
function bracketNote(name: string, b: Bracket | null): string[] {
  if (!b) return [];
  const pct = `${b.drift >= 0 ? '+' : ''}${round(b.drift * 100)} %`;
  const warn =
    Math.abs(b.drift) > DRIFT_WARNING
      ? ` **The machine's speed moved during the run by more than ${DRIFT_WARNING * 100} %: read the ratios with that in mind.**`
      : '';
  return [
    '',
    `${name} was measured before and after the project: ${b.before} and ${b.after} executions/s sustained ` +
      `(drift ${pct}); its column and the ratios use the mean of the two runs.${warn}`,
  ];
}

type Burst = {
  executionsPerS: { sustained: number; overall: number };
  e2eMs: { p50: number; p95: number };
  isolated: { n: number; e2eMs: { p50: number; p95: number } };
  makespanS: number;
};

function againstFloors(input: ReportInput): string[] {
  const { analysis: a, temporalFloor: f, temporalFloorLocal: fl, ratios: r } = input;
  const cols = [a, f, fl] as (Burst | null)[];
  const rate = (b: Burst | null) =>
    b ? `${b.executionsPerS.sustained} (${b.executionsPerS.overall})` : 'n/a';
  const e2e = (b: Burst | null) => pair(b?.e2eMs.p50, b?.e2eMs.p95);
  const alone = (b: Burst | null) => pair(b?.isolated.e2eMs.p50, b?.isolated.e2eMs.p95);
  const ref = (b: ReferenceAnalysis | null) => b?.processes;
  const events = (b: { historyPerExecution: { events: number; workflowTasks: number } } | null) =>
    b ? `${b.historyPerExecution.events}; ${b.historyPerExecution.workflowTasks}` : 'n/a';
  const v = r.vsTemporalFloor;
  const vl = r.vsTemporalFloorLocal;
  const devPer1000 = a ? round((a.cpu.devServerS / a.executions) * 1000, 2) : null;
  const tasks = (
    b: { devServerTasks: { total: number; byOperation: Record<string, number> } | null } | null,
  ) =>
    b?.devServerTasks
      ? `${b.devServerTasks.total} (${b.devServerTasks.byOperation.TimerActiveTaskActivityTimeout ?? 0})`
      : 'n/a';
  return [
    `**Against the floor** (plain Temporal, same dev server and latency; N=${input.cfg.n} at once, then ${input.cfg.isolatedN} one at a time)`,
    '',
    ...header([
      'figure',
      'this project',
      'temporalFloor',
      'temporalFloorLocal',
      'ours / temporalFloor',
      'ours / temporalFloorLocal',
    ]),
    row(['executions/s sustained (overall)', ...cols.map(rate), x(v.throughput), x(vl.throughput)]),
    row([
      'end-to-end p50 / p95 (ms)',
      ...cols.map(e2e),
      pair(x(v.e2eP50), x(v.e2eP95)),
      pair(x(vl.e2eP50), x(vl.e2eP95)),
    ]),
    row([
      'one alone: end-to-end p50 / p95 (ms)',
      ...cols.map(alone),
      pair(x(v.isolatedE2eP50), x(v.isolatedE2eP95)),
      pair(x(vl.isolatedE2eP50), x(vl.isolatedE2eP95)),
    ]),
    row(['wall for N (s)', ...cols.map((b) => b?.makespanS), '', '']),
    row(['history per execution: events; workflow tasks', events(a), events(f), events(fl), '', '']),
    row([
      'worker CPU s per 1000 executions',
      a?.worker.cpuSPer1000,
      ref(f)?.workerCpuSPer1000,
      ref(fl)?.workerCpuSPer1000,
      '',
      '',
    ]),
    row([
      'dev server CPU s per 1000 executions',
      devPer1000,
      ref(f)?.devServerCpuSPer1000,
      ref(fl)?.devServerCpuSPer1000,
      '',
      '',
    ]),
    row([
      'dev server persistence requests per execution',
      a?.devServerOperations?.total,
      f?.devServerOperations?.total,
      fl?.devServerOperations?.total,
      '',
      '',
    ]),
    row(['dev server history tasks per execution (activity timers)', tasks(a), tasks(f), tasks(fl), '', '']),
    row([
      'worker peak RSS (MB)',
      a?.worker.peakRssMb,
      ref(f)?.workerPeakRssMb,
      ref(fl)?.workerPeakRssMb,
      '',
      '',
    ]),
    ...bracketNote('temporalFloor', input.brackets.temporalFloor),
    ...timeoutsNote('temporalFloor', a, f),
  ];
}

function guideShape(input: ReportInput): string[] {
  const { temporal: g, floor: gf } = input.guide;
  const r = input.ratios.guideShape;
  return [
    `**Guide shape** (N=${input.cfg.guideN} at once, ${GUIDE_SHAPE.polls} polls ${GUIDE_SHAPE.pollIntervalMs / 1000} s apart, ready on the last)`,
    '',
    ...header(['figure', 'this project', 'its floor', 'ours / floor']),
    row(['wall (s)', g?.makespanS, gf?.makespanS, x(r.wall)]),
    row([
      'executions/s sustained (overall)',
      g ? `${g.executionsPerS.sustained} (${g.executionsPerS.overall})` : 'n/a',
      gf ? `${gf.executionsPerS.sustained} (${gf.executionsPerS.overall})` : 'n/a',
      x(r.throughput),
    ]),
    row([
      'end-to-end p50 / p95 (ms)',
      pair(g?.e2eMs.p50, g?.e2eMs.p95),
      pair(gf?.e2eMs.p50, gf?.e2eMs.p95),
      pair(x(r.e2eP50), x(r.e2eP95)),
    ]),
    row([
      'worker CPU s per 1000 executions',
      g?.processes?.workerCpuSPer1000,
      gf?.processes?.workerCpuSPer1000,
      '',
    ]),
    ...bracketNote("The guide shape's floor", input.brackets.guideFloor),
    ...timeoutsNote("The guide shape's floor", g, gf),
  ];
}

const withUnit = (v: number, unit: Target['unit']) =>
  unit === 'x' ? `${Number.isInteger(v) ? v.toFixed(1) : v}x` : unit ? `${v} ${unit}` : String(v);
export const targetValue = (t: Target) => (t.value === null ? 'n/a' : withUnit(t.value, t.unit));
export const targetLimit = (t: Target) =>
  `${t.op} ${t.limit === null ? 'n/a' : withUnit(t.limit, t.unit)}${t.limitNote ? ` (${t.limitNote})` : ''}`;

function targetRows(targets: Target[]): string[] {
  const met = (m: boolean | null) => (m === null ? 'n/a' : m ? 'yes' : '**no**');
  return [
    '**Targets**',
    '',
    ...header(['target', 'value', 'met']),
    ...targets.map((t) =>
      row([`${t.label} ${targetLimit(t)}`, `${targetValue(t)}${t.note ? ` (${t.note})` : ''}`, met(t.met)]),
    ),
  ];
}

function details(input: ReportInput): string[] {
  const { analysis: a, rawLimit: raw, blocking: blk } = input;
  if (!a) return ['(the project was not run: BENCH_ONLY)'];
  return [
    '**Details, against the raw loop and the blocking executor**',
    '',
    ...header(['figure', 'this project', 'raw limit: plain async loop', "blocking executor (guide's shape)"]),
    row([
      'executions/s sustained',
      `${a.executionsPerS.sustained} (overall ${a.executionsPerS.overall})`,
      raw
        ? `overall ${raw.executionsPerS.overall} (all ${raw.n} at once, done in ${raw.makespanS} s)`
        : 'n/a',
      blk ? `${blk.executionsPerS} (extrapolated from ${blk.n})` : 'n/a',
    ]),
    row([
      'end-to-end per execution p50 / p95 / p99 (ms)',
      `${a.e2eMs.p50} / ${a.e2eMs.p95} / ${a.e2eMs.p99}`,
      raw ? `${raw.e2eMs.p50} / ${raw.e2eMs.p95} / ${raw.e2eMs.p99}` : 'n/a',
      blk ? `${blk.perExecutionMs.p50} / ${blk.perExecutionMs.p95} / ${blk.perExecutionMs.p99}` : 'n/a',
    ]),
    row([
      'time inside the 3 API calls p50 (ms)',
      a.apiMs.p50,
      raw?.apiMs.p50,
      blk ? `${blk.meanApiMs} (mean)` : 'n/a',
    ]),
    row([
      'orchestration overhead p50 / p95 / p99 (ms)',
      `${a.overheadMs.p50} / ${a.overheadMs.p95} / ${a.overheadMs.p99}`,
      raw ? `${raw.overheadMs.p50} / ${raw.overheadMs.p95} / ${raw.overheadMs.p99}` : 'n/a',
      blk ? `${round(blk.perExecutionMs.p50 - blk.meanApiMs)} (p50, insert + dbt)` : 'n/a',
    ]),
    row([
      `one execution alone (n=${a.isolated.n}): end-to-end p50; overhead p50 / p95 / p99 (ms)`,
      `${a.isolated.e2eMs.p50}; ${a.isolated.overheadMs.p50} / ${a.isolated.overheadMs.p95} / ${a.isolated.overheadMs.p99}`,
      '-',
      blk ? `${blk.perExecutionMs.p50}; ${round(blk.perExecutionMs.p50 - blk.meanApiMs)}` : 'n/a',
    ]),
    row([
      'state writes/s; per execution',
      `${a.stateWrites.perSecond}; ${a.stateWrites.perExecution}`,
      '-',
      blk ? `${round(1000 / blk.perExecutionMs.mean, 2)}; 1` : 'n/a',
    ]),
    input.cfg.warehouse === 'duckdb'
      ? row([
          'rows per warehouse statement (opens)',
          `${a.stateWrites.warehouse.rowsPerStatement} (${a.stateWrites.warehouse.opens ?? '?'} opens, ${a.stateWrites.warehouse.statements ?? '?'} statements)`,
          '-',
          '1',
        ])
      : row([
          'rows per MERGE (MERGEs); MERGE latency mean / max (ms)',
          `${a.stateWrites.warehouse.rowsPerStatement} (${a.stateWrites.warehouse.statements ?? '?'}); ` +
            pair(a.stateWrites.warehouse.mergeMs?.mean, a.stateWrites.warehouse.mergeMs?.max),
          '-',
          '1',
        ]),
    row([
      'dbt invocations; per dbt-run duration',
      `${a.dbt.invocations} (mean ${a.dbt.meanDurationS} s); ${a.dbt.invocationsPerRunDuration}`,
      '-',
      blk ? `${blk.dbtInvocationsForN} (one per execution, ${round(blk.meanDbtMs / 1000, 2)} s each)` : 'n/a',
    ]),
    row([
      'lag last completion -> model shows it (s); longest gap between refreshes (s)',
      `${a.dbt.lagS}; ${a.dbt.maxGapS}`,
      '-',
      blk ? `${round(blk.meanDbtMs / 1000, 2)} (dbt inline)` : 'n/a',
    ]),
    row(['worker peak RSS (MB); peak in flight', `${a.worker.peakRssMb}; ${a.peakInFlight}`, '-', '-']),
    row(['worker CPU s per 1000 executions', a.worker.cpuSPer1000, '-', '-']),
    row([
      'dev server CPU: s; share of stack; of machine',
      `${a.cpu.devServerS}; ${round(a.cpu.devServerShareOfStack * 100)} %; ${round(a.cpu.devServerShareOfMachine * 100)} %`,
      '-',
      '-',
    ]),
  ];
}

export function table(input: ReportInput): string {
  const { cfg, analysis: a, load } = input;
  const intro = [
    `**Warehouse: ${input.warehouseLabel}**` +
      (cfg.warehouse === 'snowflake'
        ? " (an emulator on an in-process DuckDB: its latencies are not Snowflake's; docs/snowflake.md)"
        : ''),
    '',
    ...(a?.timedOut
      ? [
          `**Only ${a.executions} of ${cfg.n} executions finished within BENCH_TIMEOUT_MS; figures cover those.**`,
          '',
        ]
      : []),
    ...(cfg.floorIo
      ? [
          "**The floors' activities made the HTTP calls and wrote four state rows per execution " +
            '(BENCH_FLOOR_IO=1): the ratios below are against that, not against the plain floor the targets name.**',
          '',
        ]
      : []),
    `N=${cfg.n} (warm-up ${cfg.warmup}), simulator latency ${cfg.latencyMs} ms per call, ready on the first poll, poll delay 0; ` +
      `guide shape N=${cfg.guideN}; parts: ${[...cfg.parts].join(', ')}${cfg.references ? '' : ' (references off)'}; ` +
      `${CORES} cores; load average ${load.start.join(' ')} at start, ${load.end.join(' ')} at end` +
      (a
        ? `; CPU used by other processes during the project's run: ${round(a.cpu.otherShareOfMachine * 100)} % of the machine.`
        : '.'),
  ];
  return [intro, againstFloors(input), guideShape(input), targetRows(input.targets), details(input)]
    .map((s) => s.join('\n'))
    .join('\n\n');
}
