/**
 * What the CLI's commands share: usage errors, reading a policy file, options from flags, the
 * Temporal connection and Web UI links.
 */
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { loadTemporalConfig } from '../config';
import { setupTracing } from '../observability/tracing';
import { validateOptions, validatePolicy } from '../policy';
import type { ExecutionOptionsInput } from '../policy/input';

/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** The Web UI's base URL (TEMPORAL_UI_URL). */
export function uiBase(): string {
  return (process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233').replace(/\/$/, '');
}

export function uiLink(namespace: string, workflowId: string): string {
  return `${uiBase()}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function readPolicyFile(file: string | undefined): unknown {
  if (!file) throw new UsageError('--policy FILE is required');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read policy file '${file}': ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`policy file '${file}' is not valid JSON: ${(err as Error).message}`);
  }
  const v = validatePolicy(value);
  if (!v.ok) throw new UsageError(`invalid policy in '${file}': ${v.message}`);
  return v.value;
}

export function optionsFromFlags(values: {
  'max-polls'?: string;
  'poll-interval-ms'?: string;
  'no-refresh'?: boolean;
}): ExecutionOptionsInput {
  const opts: ExecutionOptionsInput = {};
  if (values['max-polls'] !== undefined) opts.maxPolls = Number(values['max-polls']);
  if (values['poll-interval-ms'] !== undefined) opts.pollIntervalMs = Number(values['poll-interval-ms']);
  if (values['no-refresh']) opts.refreshModel = false;
  const v = validateOptions(opts);
  if (!v.ok) throw new UsageError(v.message.replace(/^options\./, '--'));
  return opts;
}
export async function connect(): Promise<{ client: Client; namespace: string; close: () => Promise<void> }> {
  const temporal = loadTemporalConfig();
  let connection: Connection;
  try {
    connection = await Connection.connect(temporal.connectionOptions);
  } catch (err) {
    const address = temporal.connectionOptions.address ?? 'localhost:7233';
    throw new Error(
      `cannot reach the Temporal server at ${address}: ${(err as Error).message}\n` +
        `  start the local stack with 'make up', or set TEMPORAL_ADDRESS`,
    );
  }
  // With OTEL_EXPORTER_OTLP_ENDPOINT set, every start begins a trace (docs/operations.md#traces).
  const tracing = setupTracing({ serviceName: 'policy-execution-cli' });
  const client = new Client({
    connection,
    namespace: temporal.namespace,
    interceptors: tracing.clientInterceptors(),
  });
  return {
    client,
    namespace: temporal.namespace,
    close: async () => {
      await connection.close();
      await tracing.flush();
    },
  };
}
