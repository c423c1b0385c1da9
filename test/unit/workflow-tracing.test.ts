/**
 * The workflow sandbox's tracing switch (src/observability/workflow/tracing.ts): it names the trace
 * header itself so that untraced executions never load the OpenTelemetry modules, so it must agree
 * with the library's header, and an untraced call must go straight to the next interceptor.
 */
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
