/**
 * A dev server's own Prometheus metrics (`--metrics-port`, DevServer.metricsUrl): its persistence
 * requests by operation (the reads and writes of its SQLite file) and the tasks its history service
 * ran by type (transfer, timer and visibility tasks: e.g. `TimerActiveTaskActivityTimeout`, an
 * activity's timeout timer firing). Counted, not timed, so the machine's speed does not move them:
 * the bench reports them per execution beside the CPU, the tests check the dev server's settings
 * with them.
 */

/** One counter summed per operation. */
export type OperationCounts = Record<string, number>;

/** The counters the bench and the tests read. */
export interface DevServerCounters {
  /** `persistence_requests`: reads and writes of the server's database. */
  persistence: OperationCounts;
  /** `task_requests`: the history service's queue tasks by type. */
  tasks: OperationCounts;
}

function parseCounter(text: string, metric: string): OperationCounts {
  const counts: OperationCounts = {};
  const line = new RegExp(`^${metric}\\{(?:.*,)?operation="([^"]+)"(?:,.*)?\\} (\\S+)$`);
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (m) counts[m[1]!] = (counts[m[1]!] ?? 0) + Number(m[2]);
  }
  return counts;
}

/** The counters now; throws when the server does not answer. */
export async function devServerCounters(metricsUrl: string): Promise<DevServerCounters> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`${metricsUrl}: HTTP ${res.status}`);
  const text = await res.text();
  return {
    persistence: parseCounter(text, 'persistence_requests'),
    tasks: parseCounter(text, 'task_requests'),
  };
}

/** What moved between two readings, per operation (only those that moved). */
export function countsBetween(before: OperationCounts, after: OperationCounts): OperationCounts {
  const moved: OperationCounts = {};
  for (const [op, n] of Object.entries(after)) {
    const d = n - (before[op] ?? 0);
    if (d > 0) moved[op] = d;
  }
  return moved;
}

/** What moved in every counter between two readings. */
export function countersBetween(before: DevServerCounters, after: DevServerCounters): DevServerCounters {
  return {
    persistence: countsBetween(before.persistence, after.persistence),
    tasks: countsBetween(before.tasks, after.tasks),
  };
}
