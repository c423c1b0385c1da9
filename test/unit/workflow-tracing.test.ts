/**
 * The workflow sandbox's tracing switch (src/observability/workflow/tracing.ts): it names the trace
 * header itself so that untraced executions never load the OpenTelemetry modules, so it must agree
 * with the library's header, and an untraced call must go straight to the next interceptor.
 * And the worker process's side (src/observability/tracing.ts): with tracing off it never loads the
 * OpenTelemetry SDK; with it on, it does.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRACE_HEADER as LIBRARY_TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import { TRACE_HEADER, tracingInterceptors } from '../../src/observability/workflow/tracing';

describe('workflow tracing switch', () => {
  it('looks for the same header the OpenTelemetry interceptors write', () => {
    expect(TRACE_HEADER).toBe(LIBRARY_TRACE_HEADER);
  });

  it('passes an untraced execution straight on, and says it is not traced', async () => {
    const state = { traced: true };
    const { inbound } = tracingInterceptors(state);
    const input = { headers: {}, args: [] };
    const result = await inbound.execute!(input as never, (seen) => Promise.resolve(seen));
    expect(result).toBe(input);
    expect(state.traced).toBe(false);
  });
});

describe('the OpenTelemetry SDK in the worker process', () => {
  const DIST = path.resolve(__dirname, '..', '..', 'dist');
  /** The OpenTelemetry SDK modules a fresh Node process has loaded after the worker's modules and its tracing set-up. */
  const sdkModulesLoaded = (env: Record<string, string>): string[] => {
    const script = `
      require(${JSON.stringify(path.join(DIST, 'worker.js'))});
      require(${JSON.stringify(path.join(DIST, 'observability', 'tracing.js'))}).setupTracing({ serviceName: 't' });
      const sdk = /node_modules\\/(@opentelemetry\\/(sdk-trace-base|exporter-trace-otlp-http|resources|context-async-hooks)|@temporalio\\/interceptors-opentelemetry\\/lib\\/index)/;
      const names = Object.keys(require.cache).filter((f) => sdk.test(f)).map((f) => f.replace(/.*node_modules\\//, ''));
      process.stdout.write(JSON.stringify([...new Set(names.map((n) => n.split('/').slice(0, 2).join('/')))]));
    `;
    const env0 = { ...process.env };
    delete env0.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete env0.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    return JSON.parse(
      execFileSync(process.execPath, ['-e', script], { env: { ...env0, ...env } }).toString(),
    ) as string[];
  };

  it('is not loaded when tracing is off', () => {
    expect(sdkModulesLoaded({})).toEqual([]);
  });

  it('is loaded when tracing is on (OTLP endpoint set)', () => {
    expect(sdkModulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual(
      expect.arrayContaining(['@opentelemetry/sdk-trace-base', '@opentelemetry/exporter-trace-otlp-http']),
    );
  });
});
