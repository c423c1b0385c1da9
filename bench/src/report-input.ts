/** What a report is made from: every figure of one run (the input of report.ts, table.ts, chart-input.ts). */
import type { Analysis, BlockingAnalysis, RawAnalysis } from './analyse';
import type { ReferenceAnalysis } from './analyse-burst';
import type { Bracket } from './bracket';
import type { BenchConfig } from './config';
import type { ProfileSummary } from './profile';
import type { BlockingResult, RawResult } from './references';
import type { Ratios, Target } from './targets';

type Load = { start: number[]; end: number[] };

export interface ReportInput {
  cfg: BenchConfig;
  /** The warehouse the project's worker wrote (BENCH_WAREHOUSE), as the report names it. */
  warehouseLabel: string;
  startedAt: Date;
  load: Load;
  /** The project's run (null when BENCH_ONLY left it out). */
  analysis: Analysis | null;
  temporalFloor: ReferenceAnalysis | null;
  temporalFloorLocal: ReferenceAnalysis | null;
  guide: { temporal: ReferenceAnalysis | null; floor: ReferenceAnalysis | null };
  /** The floors measured before and after the project's part (null: once, after it). */
  brackets: { temporalFloor: Bracket | null; guideFloor: Bracket | null };
  rawLimit: RawAnalysis | null;
  blocking: BlockingAnalysis | null;
  ratios: Ratios;
  targets: Target[];
  workerProfile: ProfileSummary[];
  /** temporalFloor's worker, profiled the same way (its own process for that floor). */
  floorWorkerProfile: ProfileSummary[];
  /** The references' per-execution timings the chart draws. */
  timings: { raw: RawResult | null; blocking: BlockingResult | null };
}
