/**
 * Bulk runs from the project CLI against the real parts: the real dev server, the simulator over
 * HTTP, a real DuckDB file and an in-process worker. `start --policies` with 200 policies from a
 * JSON Lines file (exact counts, failed ones listed), the same command again (nothing new starts:
 * every id already started, checked in Temporal and at the API), a directory of policy files, and
 * a bad line refused before anything starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { policyWithId, startHarness, uniqueId, type Harness } from '../helpers/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  process.env.TEMPORAL_ADDRESS = inject('temporalAddress');
  process.env.TEMPORAL_NAMESPACE = 'default';
  process.env.POLICY_TASK_QUEUE = h.taskQueue;
});
afterAll(async () => {
  await h?.close();
});

/** Workflow ids and run ids of every execution whose id starts with `prefix-`, from visibility. */
async function runsOf(prefix: string): Promise<Map<string, string>> {
  const runs = new Map<string, string>();
  for await (const wf of h.env.client.workflow.list({ query: `WorkflowId STARTS_WITH '${prefix}-'` }))
    runs.set(wf.workflowId, wf.runId);
  return runs;
}

async function until<T>(what: string, fn: () => Promise<T | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function summaryCount(out: string, label: string): number {
  const m = new RegExp(`^ {2}${label} +(\\d+)$`, 'm').exec(out);
  if (!m) throw new Error(`no '${label}' in the summary:\n${out}`);
  return Number(m[1]);
}

const FAST = ['--poll-interval-ms', '0', '--no-refresh'];

describe('start --policies FILE.jsonl', () => {
  const prefix = uniqueId('b200');
  const policyIds = Array.from({ length: 200 }, () => uniqueId('bulkpol'));
  const failing = new Set(policyIds.filter((_, i) => i % 70 === 13)); // 3 of them
  let file: string;
  let firstRuns: Map<string, string>;
  let firstCreates: { keys: Set<string | null>; requests: number };
  /** The create requests the API saw for these policies, and their idempotency keys. */
  const creates = () => {
    const requests = policyIds.flatMap((pid) =>
      h.sim.requests({ policyId: pid }).filter((r) => r.path === '/createpolicy'),
    );
    return { keys: new Set(requests.map((r) => r.idempotencyKey)), requests: requests.length };
  };

  beforeAll(() => {
    for (const pid of failing) h.sim.scriptPolicy(pid, { statuses: ['failed'] });
    file = path.join(h.tmpDir, 'policies.jsonl');
    fs.writeFileSync(file, policyIds.map((pid) => JSON.stringify(policyWithId(pid))).join('\n') + '\n');
  });

  it('200 policies: every one starts and ends, with exact counts and the failed ones named', async () => {
    expect(failing.size).toBe(3);
    const run = await runCli(['start', '--policies', file, '--wait', '--id-prefix', prefix, ...FAST]);
    expect(run.code, run.out).toBe(1);
    expect(run.out).toMatch(new RegExp(`starting 200 executions from ${file} \\(20 at a time, waiting`));
    expect(summaryCount(run.out, 'started')).toBe(200);
    expect(summaryCount(run.out, 'already started')).toBe(0);
    expect(summaryCount(run.out, 'completed')).toBe(197);
    expect(summaryCount(run.out, 'failed')).toBe(3);
    expect(summaryCount(run.out, 'total')).toBe(200);

    // The failed ones are listed with their state row's error_message.
    const listed = [...run.out.matchAll(new RegExp(`^ {2}(${prefix}-[0-9a-f]{16}-1) {2}(.*)$`, 'gm'))];
    expect(listed).toHaveLength(3);
    for (const [, id, message] of listed) {
      const row = await h.warehouse.getState(id ?? '');
      expect(row?.status).toBe('error');
      expect(message).toBe(row?.error_message);
      expect(
        failing.has(String((row?.policy_data as { expected_policy_id?: string }).expected_policy_id)),
      ).toBe(true);
    }

    firstRuns = await until('visibility to list all 200', async () => {
      const runs = await runsOf(prefix);
      return runs.size === 200 ? runs : false;
    });
    // One create per policy: one idempotency key each (a create retried after a client timeout on a
    // loaded machine repeats its key; the API commits it once).
    firstCreates = creates();
    expect(firstCreates.keys.size).toBe(200);
    expect(firstCreates.keys.has(null)).toBe(false);
  });

  it('the same command again starts nothing new: 200 already started, awaited, same runs', async () => {
    const again = await runCli(['start', '--policies', file, '--wait', '--id-prefix', prefix, ...FAST]);
    expect(again.code, again.out).toBe(1);
    expect(summaryCount(again.out, 'started')).toBe(0);
    expect(summaryCount(again.out, 'already started')).toBe(200);
    expect(summaryCount(again.out, 'completed')).toBe(197);
    expect(summaryCount(again.out, 'failed')).toBe(3);

    // Temporal: still 200 workflows, each with the run it had.
    const runs = await runsOf(prefix);
    expect(runs).toEqual(firstRuns);
    expect((await h.env.client.workflow.count(`WorkflowId STARTS_WITH '${prefix}-'`)).count).toBe(200);
    // The API saw no new create: no request since the first run's.
    expect(creates()).toEqual(firstCreates);

    // Without --wait: the same answer, at once, and exit code 0.
    const quick = await runCli(['start', '--policies', file, '--id-prefix', prefix, ...FAST]);
    expect(quick.code, quick.out).toBe(0);
    expect(summaryCount(quick.out, 'already started')).toBe(200);
    expect(summaryCount(quick.out, 'started')).toBe(0);
    expect(quick.out).not.toMatch(/^ {2}completed/m);
  });
});

describe('start --policies DIR', () => {
  it('one execution per *.json file: bare policies and wrappers with their own id and options', async () => {
    const dir = path.join(h.tmpDir, 'policy-dir');
    fs.mkdirSync(dir);
    const prefix = uniqueId('bdir');
    const ownId = uniqueId('own');
    const slowPid = uniqueId('dirpol');
    h.sim.scriptPolicy(slowPid, { statuses: ['pending', 'pending', 'ready'] });
    fs.writeFileSync(
      path.join(dir, '01-bare.json'),
      JSON.stringify(policyWithId(uniqueId('dirpol')), null, 2),
    );
    fs.writeFileSync(
      path.join(dir, '02-own-id.json'),
      JSON.stringify({ id: ownId, policy: policyWithId(uniqueId('dirpol')) }),
    );
    // Its own maxPolls (4) wins over the flag (2): ready on the third poll.
    fs.writeFileSync(
      path.join(dir, '03-options.json'),
      JSON.stringify({ policy: policyWithId(slowPid), options: { maxPolls: 4 } }),
    );
    fs.writeFileSync(path.join(dir, 'README.txt'), 'not a policy');

    const run = await runCli([
      'start',
      '--policies',
      dir,
      '--wait',
      '--id-prefix',
      prefix,
      '--max-polls',
      '2',
      '--concurrency',
      '2',
      ...FAST,
    ]);
    expect(run.code, run.out).toBe(0);
    expect(summaryCount(run.out, 'started')).toBe(3);
    expect(summaryCount(run.out, 'completed')).toBe(3);
    expect(summaryCount(run.out, 'failed')).toBe(0);
    expect(await h.warehouse.getState(ownId)).toMatchObject({ status: 'completed' });
    const derived = await until('visibility to list both', async () => {
      const runs = await runsOf(prefix);
      return runs.size === 2 ? [...runs.keys()] : false;
    });
    const rows = await Promise.all(derived.map((id) => h.warehouse.getState(id)));
    const slow = rows.find((r) => r?.policy_id === slowPid);
    expect(slow).toMatchObject({ status: 'completed', poll_count: 3 });
  });
});

describe('a bad input', () => {
  it('is refused with file:line and why, before anything starts', async () => {
    const prefix = uniqueId('bbad');
    const file = path.join(h.tmpDir, 'bad.jsonl');
    const good = () => JSON.stringify(policyWithId(uniqueId('badpol')));
    fs.writeFileSync(
      file,
      [
        good(),
        good(),
        JSON.stringify(policyWithId(uniqueId('badpol'), { priority: 'urgent' })),
        good(),
        '{"policy": {"policy_name": "x"',
      ].join('\n'),
    );
    const run = await runCli(['start', '--policies', file, '--wait', '--id-prefix', prefix, ...FAST]);
    expect(run.code).toBe(2);
    expect(run.out).toContain('2 bad inputs; nothing was started:');
    expect(run.out).toContain(`${file}:3: policy.priority: must be one of low, medium, high, critical`);
    expect(run.out).toMatch(new RegExp(`${file}:5: not valid JSON: `));
    expect(run.out).not.toMatch(/starting \d+ execution/);
    expect((await h.env.client.workflow.count(`WorkflowId STARTS_WITH '${prefix}-'`)).count).toBe(0);
  });

  it('flags that start one execution are refused with --policies', async () => {
    const file = path.join(h.tmpDir, 'one.jsonl');
    fs.writeFileSync(file, JSON.stringify(policyWithId(uniqueId('pol'))));
    const withId = await runCli(['start', '--policies', file, '--id', 'x']);
    expect(withId.code).toBe(2);
    expect(withId.out).toMatch(/--id and --rerun start one execution/);
    const badConcurrency = await runCli(['start', '--policies', file, '--concurrency', '0']);
    expect(badConcurrency.code).toBe(2);
    expect(badConcurrency.out).toMatch(/--concurrency must be a whole number from 1 to 1000/);
  });
});
