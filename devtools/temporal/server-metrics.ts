/**
 * A dev server's own Prometheus metrics (`--metrics-port`, DevServer.metricsUrl): its persistence
 * requests by operation, the reads and writes of its SQLite file. Counted, not timed, so the
 * machine's speed does not move them: the bench reports them per execution beside the CPU, the
 * tests check the dev server's settings with them.
 */

/** `persistence_requests` summed per operation. */
export type OperationCounts = Record<string, number>;

function parsePersistenceRequests(text: string): OperationCounts {
  const counts: OperationCounts = {};
  for (const line of text.split('\n')) {
    const m = /^persistence_requests\{(?:.*,)?operation="([^"]+)"(?:,.*)?\} (\S+)$/.exec(line);
    if (m) counts[m[1]!] = (counts[m[1]!] ?? 0) + Number(m[2]);
  }
  return counts;
}

/** The counters now; throws when the server does not answer. */
export async function persistenceRequests(metricsUrl: string): Promise<OperationCounts> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`${metricsUrl}: HTTP ${res.status}`);
  return parsePersistenceRequests(await res.text());
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
