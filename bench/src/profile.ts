/**
 * Summarises a V8 CPU profile (node --cpu-prof) of the worker: self time by function and by area,
 * to show where the worker's CPU goes (BENCH_PROFILE=1).
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  totalS: number;
  byArea: { area: string; selfS: number; share: number }[];
  topFunctions: { fn: string; selfS: number; share: number }[];
}

function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'native / program (incl. Rust core, DuckDB sync calls)';
  if (url.includes('@duckdb')) return 'DuckDB client';
  if (url.includes('workflow-bundle') || url.includes('/workflows/')) return 'workflow code (sandbox)';
  if (url.includes('@temporalio/worker')) return 'Temporal SDK: worker';
  if (url.includes('@temporalio')) return 'Temporal SDK: other';
  if (url.includes('undici')) return 'HTTP client (undici)';
  if (url.includes('zod')) return 'zod';
  if (url.includes('/warehouse/')) return 'warehouse adapter';
  if (url.includes('node_modules')) return `other deps`;
  if (url.startsWith('node:') || url === '') return 'Node core / VM';
  return 'project code';
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const self = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    // timeDeltas[i] is the time before sample i; attribute the gap to the next sample like DevTools.
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? 0));
  }
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const a = area(url, functionName);
    if (a === 'idle') continue;
    total += us;
    byArea.set(a, (byArea.get(a) ?? 0) + us);
    const key =
      `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    file,
    totalS: Math.round(total / 1e4) / 100,
    byArea: sorted(byArea).map(([a, us]) => ({
      area: a,
      selfS: Math.round(us / 1e4) / 100,
      share: Math.round((us / total) * 1000) / 1000,
    })),
    topFunctions: sorted(byFn)
      .slice(0, top)
      .map(([fn, us]) => ({
        fn,
        selfS: Math.round(us / 1e4) / 100,
        share: Math.round((us / total) * 1000) / 1000,
      })),
  };
}

/** A worker's profile files (one per thread) and their summaries. */
export interface CollectedProfiles {
  files: string[];
  summaries: ProfileSummary[];
}

/** No profiles: a run without BENCH_PROFILE, or a part that did not run. */
export function noProfiles(): CollectedProfiles {
  return { files: [], summaries: [] };
}

/** Every profile the worker left (one per thread: main and workflow threads), summarised. */
export function collectProfiles(dir: string, log: (msg: string) => void): CollectedProfiles {
  const { files, summaries } = noProfiles();
  if (!fs.existsSync(dir)) return { files, summaries };
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()) {
    files.push(path.join(dir, file));
    const summary = summarizeProfile(path.join(dir, file));
    summaries.push(summary);
    log(
      `worker CPU profile ${file} (${summary.totalS} s): ` +
        summary.byArea.map((a) => `${a.area} ${Math.round(a.share * 100)}%`).join(', '),
    );
  }
  return { files, summaries };
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node profile.js <file.cpuprofile>');
  console.log(JSON.stringify(summarizeProfile(file), null, 2));
}
