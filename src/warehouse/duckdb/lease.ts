/**
 * Taking turns on one DuckDB file between the processes of one machine (docs/design.md, decision 6).
 * DuckDB lets one process at a time open a file for writing; the worker holds it while writes flow,
 * and two small files next to the database say who else needs it:
 *
 *   <file>.lease   someone needs the file for a while (a dbt invocation, through the dbt-duckdb
 *                  plugin dbt/plugins/warehouse_lease.py; the worker's own dbt runs): writers close
 *                  the file and do not open it until the lease is gone. JSON {pid, host, holder, since}.
 *   <file>.lease-paused  the lease's holder does not use the file for now ({pid, paused}; dbt's
 *                  `run_policy_workflow` with `wait` writes it around each pause between its checks,
 *                  dbt/macros/pause_between_checks.sql): the lease counts as absent while it says so.
 *   <file>.want    a writer of another process could not open the file: the holder closes it at its
 *                  next batch and waits a moment, so processes take turns instead of starving.
 *
 * A lease whose process is gone (same host, dead pid) is stale and ignored (and removed).
 */
import fs from 'node:fs';
import os from 'node:os';

export interface LeaseInfo {
  pid: number;
  host: string;
  holder: string;
  since: string;
}

export const leaseFile = (file: string) => `${file}.lease`;
const wantFile = (file: string) => `${file}.want`;
const pausedFile = (file: string) => `${file}.lease-paused`;

/** Whether the holder of `lease` said it does not use the file for now. */
function paused(file: string, lease: LeaseInfo): boolean {
  try {
    const p = JSON.parse(fs.readFileSync(pausedFile(file), 'utf8')) as { pid?: unknown; paused?: unknown };
    return p.paused === true && p.pid === lease.pid;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live lease on `file`, or null (none, unreadable, or stale: removed). */
export function liveLease(file: string): LeaseInfo | null {
  let info: LeaseInfo;
  try {
    info = JSON.parse(fs.readFileSync(leaseFile(file), 'utf8')) as LeaseInfo;
  } catch {
    return null;
  }
  if (info.host === os.hostname() && !alive(info.pid)) {
    fs.rmSync(leaseFile(file), { force: true });
    return null;
  }
  return info;
}

/** A live lease held by another process (and not paused by it). */
export function leasedByOther(file: string): LeaseInfo | null {
  const lease = liveLease(file);
  if (!lease || (lease.pid === process.pid && lease.host === os.hostname())) return null;
  return paused(file, lease) ? null : lease;
}

/**
 * Take the lease on `file` for `holder`, waiting while another live lease exists (at most
 * `timeoutMs`, then an error naming the holder; a paused one does not make it wait). Returns the
 * release.
 */
export async function takeLease(file: string, holder: string, timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  const body = JSON.stringify({
    pid: process.pid,
    host: os.hostname(),
    holder,
    since: new Date().toISOString(),
  });
  for (;;) {
    try {
      fs.writeFileSync(leaseFile(file), body, { flag: 'wx' });
      return () => {
        const mine = liveLease(file);
        if (mine?.pid === process.pid) fs.rmSync(leaseFile(file), { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const other = liveLease(file);
    // Its holder does not use the file for now: go ahead without a lease of our own (the DuckDB
    // lock still keeps the two apart; the holder's next use waits for it).
    if (other && paused(file, other)) return () => {};
    if (other && Date.now() > deadline) {
      throw new Error(
        `${file} is leased by ${other.holder} (pid ${other.pid} since ${other.since}); gave up after ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Say that this process is waiting for `file`. */
export function announceWant(file: string): void {
  try {
    fs.writeFileSync(wantFile(file), String(process.pid));
  } catch {
    // Best effort: without it the holder still releases when idle or after its longest hold.
  }
}

/** Withdraw this process's want (if it is still the one on record). */
export function withdrawWant(file: string): void {
  try {
    if (fs.readFileSync(wantFile(file), 'utf8') === String(process.pid))
      fs.rmSync(wantFile(file), { force: true });
  } catch {
    // None on record.
  }
}

/** Whether another process is waiting for `file` (a want older than a few seconds is ignored). */
export function wantedByOther(file: string): boolean {
  try {
    const st = fs.statSync(wantFile(file));
    if (Date.now() - st.mtimeMs > 5_000) return false;
    return fs.readFileSync(wantFile(file), 'utf8') !== String(process.pid);
  } catch {
    return false;
  }
}
