/**
 * Temporal for the chaos suite: a dev server the suite owns (persistent database, so it can be
 * restarted mid-run on the same port), started with the test helper's launchDevServer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { StateRow } from '../../src/policy';
import { freePort, launchDevServer, TEMPORAL_BIN } from '../../devtools/temporal/dev-server';

export { freePort, TEMPORAL_BIN };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function run(args: string[], timeoutMs = 10_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(TEMPORAL_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** `temporal workflow show --output json` for one execution: the CLI's view of its history. */
export async function showWorkflowJson(address: string, workflowId: string): Promise<string> {
  const r = await run(
    [
      'workflow',
      'show',
      '--address',
      address,
      '--namespace',
      'default',
      '--workflow-id',
      workflowId,
      '--output',
      'json',
    ],
    60_000,
  );
  if (r.code !== 0)
    throw new Error(`temporal workflow show ${workflowId} failed (${r.code}): ${r.out.slice(0, 500)}`);
  return r.out;
}

/**
 * `temporal workflow reset` of the workflow id's current run, as an operator would: to the first
 * workflow task, or to an event id (a workflow task's completion).
 */
export async function resetWorkflow(
  address: string,
  workflowId: string,
  to: { type: 'FirstWorkflowTask' } | { eventId: number },
  reason: string,
): Promise<void> {
  const target = 'type' in to ? ['--type', to.type] : ['--event-id', String(to.eventId)];
  const args = ['workflow', 'reset', '--address', address, '--namespace', 'default'];
  args.push('--workflow-id', workflowId, ...target, '--reason', reason);
  for (let attempt = 1; ; attempt++) {
    const r = await run(args, 60_000);
    if (r.code === 0) return;
    // The server refuses while a workflow task is in progress (e.g. a state write): try again, as an operator would.
    if (!/Workflow is busy/i.test(r.out) || attempt >= 40) {
      throw new Error(`temporal workflow reset ${workflowId} failed (${r.code}): ${r.out.slice(0, 500)}`);
    }
    await sleep(250);
  }
}

export class DevServer {
  child: ChildProcess | null = null;
  readonly address: string;
  restarts = 0;

  private constructor(
    readonly port: number,
    readonly dbFile: string,
  ) {
    this.address = `127.0.0.1:${port}`;
  }

  static async start(dbFile: string): Promise<DevServer> {
    const s = new DevServer(await freePort(), dbFile);
    await s.launch();
    return s;
  }

  private async launch(): Promise<void> {
    this.child = (await launchDevServer(this.port, { dbFilename: this.dbFile, timeoutMs: 90_000 })).child;
  }

  private async halt(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stop the server (SIGTERM or SIGKILL), stay down for `downMs`, start it on the same port and database. */
  async restart(signal: NodeJS.Signals, downMs: number): Promise<void> {
    await this.halt(signal);
    await sleep(downMs);
    await this.launch();
    this.restarts += 1;
  }

  async stop(): Promise<void> {
    await this.halt('SIGTERM');
  }
}

export async function connectClient(
  address: string,
): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace: 'default' }), close: () => connection.close() };
}

export interface Outcome {
  closed: boolean;
  /** COMPLETED, FAILED, RUNNING, TERMINATED, ... (or UNKNOWN when it could not be described). */
  temporalStatus: string;
  result?: StateRow;
  failure?: { type?: string; message: string; nonRetryable?: boolean; details?: unknown };
  closedAt?: number;
  /** Transient errors while waiting (server restarts), retried. */
  waitErrors: number;
}

function beforeDeadline<T>(p: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('deadline')), Math.max(1000, deadline - Date.now()));
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Waits for the workflow to close, riding out server restarts, until `deadline` (epoch ms). */
export async function awaitOutcome(handle: WorkflowHandle, deadline: number): Promise<Outcome> {
  const out: Outcome = { closed: false, temporalStatus: 'UNKNOWN', waitErrors: 0 };
  while (Date.now() < deadline) {
    try {
      out.result = (await beforeDeadline(handle.result(), deadline)) as StateRow;
      out.closed = true;
      break;
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        out.closed = true;
        const cause = err.cause;
        out.failure =
          cause instanceof ApplicationFailure
            ? {
                type: cause.type ?? undefined,
                message: cause.message,
                nonRetryable: cause.nonRetryable ?? undefined,
                details: cause.details,
              }
            : { message: cause?.message ?? err.message };
        break;
      }
      if (err instanceof Error && err.message === 'deadline') break;
      out.waitErrors += 1;
      await sleep(1000);
    }
  }
  if (out.closed) out.closedAt = Date.now();
  for (let i = 0; i < 10; i++) {
    try {
      out.temporalStatus = (await handle.describe()).status.name;
      break;
    } catch {
      await sleep(1000);
    }
  }
  return out;
}
