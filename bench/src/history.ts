/**
 * What one execution's event history says: end-to-end time, time inside the three API activities
 * (regular activities named as the project's), the rest (the orchestration overhead), and where the
 * rest goes (workflow tasks, activity queueing, state writes, local activities). Used for the project's
 * executions and the floor's alike (bench/floor names its activities the same).
 */

export const API_ACTIVITIES = ['createPolicy', 'getPolicyStatus', 'triggerCircuitBreaker'] as const;

/** What one execution's history says (all durations in ms). */
export interface HistoryFacts {
  id: string;
  e2eMs: number;
  /** Time inside the three API activities (activity started -> completed, summed). */
  apiMs: number;
  /** e2eMs - apiMs. */
  overheadMs: number;
  events: number;
  workflowTasks: number;
  /** Workflow tasks: scheduled -> started (waiting for a worker slot / poller), summed. */
  wftQueueMs: number;
  /** Workflow tasks: started -> completed (worker ran the workflow code, incl. local activities). */
  wftRunMs: number;
  /** Activity tasks: scheduled -> started, summed over all activities. */
  activityQueueMs: number;
  /** State writes as (remote) activities: started -> completed, summed. */
  stateWriteMs: number;
  /** Refresh ask activity: started -> completed. */
  refreshAskMs: number;
  activities: number;
  /**
   * State rows the execution handed to the warehouse: rows carried by API activities (`state` in
   * their input), rows an API activity wrote itself (`polledRowAt`, `completedRowAt` in its result,
   * src/policy/own-rows.ts), and the local
   * activities that write a row (recordState, finishExecution) or the remote recordState of old runs.
   */
  stateWrites: number;
  localActivities: number;
  /** Workflow tasks that timed out (e.g. sticky schedule-to-start: the next task replays from scratch). */
  wftTimeouts: number;
  wftFailures: number;
  /**
   * The API activities' timeouts as scheduled (e.g. `startToClose 45s, heartbeat 20s`; the distinct
   * ones joined by ` | `): the floor schedules its activities with the project's, so that the server
   * keeps the same timers for both (docs/performance-log.md, change 31).
   */
  apiActivityTimeouts: string;
}

function payloadText(data: Uint8Array | null | undefined): string {
  return data ? Buffer.from(data).toString('utf8') : '';
}

interface Ts {
  seconds?: { toString(): string } | number | null;
  nanos?: number | null;
}
const tsMs = (ts: Ts | null | undefined): number =>
  ts ? Number(ts.seconds?.toString() ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6 : NaN;

export function parseHistory(id: string, events: readonly Record<string, unknown>[]): HistoryFacts {
  const f: HistoryFacts = {
    id,
    e2eMs: NaN,
    apiMs: 0,
    overheadMs: NaN,
    events: events.length,
    workflowTasks: 0,
    wftQueueMs: 0,
    wftRunMs: 0,
    activityQueueMs: 0,
    stateWriteMs: 0,
    refreshAskMs: 0,
    activities: 0,
    stateWrites: 0,
    localActivities: 0,
    wftTimeouts: 0,
    wftFailures: 0,
    apiActivityTimeouts: '',
  };
  const timeouts = new Set<string>();
  const seconds = (d: Ts | null | undefined) => (d ? `${tsMs(d) / 1000}s` : 'none');
  let start = NaN;
  let close = NaN;
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  let wftScheduled = NaN;
  let wftStarted = NaN;
  type Attrs = Record<string, unknown> & { scheduledEventId?: { toString(): string } | number };
  for (const ev of events) {
    const t = tsMs(ev.eventTime as Ts);
    const a = (name: string) => ev[name] as Attrs | null | undefined;
    const eventId = String((ev.eventId as { toString(): string } | undefined)?.toString());
    if (a('workflowExecutionStartedEventAttributes')) start = t;
    else if (
      a('workflowExecutionCompletedEventAttributes') ||
      a('workflowExecutionFailedEventAttributes') ||
      a('workflowExecutionTimedOutEventAttributes') ||
      a('workflowExecutionTerminatedEventAttributes')
    )
      close = t;
    else if (a('workflowTaskScheduledEventAttributes')) wftScheduled = t;
    else if (a('workflowTaskStartedEventAttributes')) {
      wftStarted = t;
      f.wftQueueMs += t - wftScheduled;
    } else if (a('workflowTaskCompletedEventAttributes')) {
      f.workflowTasks += 1;
      f.wftRunMs += t - wftStarted;
    } else if (a('workflowTaskTimedOutEventAttributes')) f.wftTimeouts += 1;
    else if (a('workflowTaskFailedEventAttributes')) f.wftFailures += 1;
    else if (a('markerRecordedEventAttributes')) {
      const marker = a('markerRecordedEventAttributes') as {
        markerName?: string;
        details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }>;
      };
      if (marker.markerName === 'core_local_activity') {
        f.localActivities += 1;
        // The marker's `data` payload names the activity type.
        const data = payloadText(marker.details?.data?.payloads?.[0]?.data);
        if (data.includes('"recordState"') || data.includes('"finishExecution"')) f.stateWrites += 1;
      }
    } else if (a('activityTaskScheduledEventAttributes')) {
      const attrs = a('activityTaskScheduledEventAttributes') as {
        activityType?: { name?: string };
        input?: { payloads?: { data?: Uint8Array | null }[] | null } | null;
        startToCloseTimeout?: Ts | null;
        heartbeatTimeout?: Ts | null;
      };
      const type = attrs.activityType?.name ?? '?';
      scheduled.set(eventId, { type, at: t });
      if ((API_ACTIVITIES as readonly string[]).includes(type))
        timeouts.add(
          `startToClose ${seconds(attrs.startToCloseTimeout)}, heartbeat ${seconds(attrs.heartbeatTimeout)}`,
        );
      if (payloadText(attrs.input?.payloads?.[0]?.data).includes('"state":{')) f.stateWrites += 1;
    } else if (a('activityTaskStartedEventAttributes')) {
      const sid = String(a('activityTaskStartedEventAttributes')?.scheduledEventId?.toString());
      started.set(sid, t);
      f.activityQueueMs += t - (scheduled.get(sid)?.at ?? t);
    } else if (a('activityTaskCompletedEventAttributes')) {
      const completed = a('activityTaskCompletedEventAttributes') as Attrs & {
        result?: { payloads?: { data?: Uint8Array | null }[] | null } | null;
      };
      const sid = String(completed.scheduledEventId?.toString());
      const result = payloadText(completed.result?.payloads?.[0]?.data);
      if (result.includes('"polledRowAt":"') || result.includes('"completedRowAt":"')) f.stateWrites += 1;
      const type = scheduled.get(sid)?.type ?? '?';
      const ran = t - (started.get(sid) ?? t);
      f.activities += 1;
      if ((API_ACTIVITIES as readonly string[]).includes(type)) f.apiMs += ran;
      else if (type === 'recordState') {
        f.stateWriteMs += ran;
        f.stateWrites += 1;
      } else if (type === 'requestModelRefresh') f.refreshAskMs += ran;
    }
  }
  f.apiActivityTimeouts = [...timeouts].sort().join(' | ');
  f.e2eMs = close - start;
  f.overheadMs = f.e2eMs - f.apiMs;
  return f;
}
