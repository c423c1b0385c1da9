/**
 * A burst whose worker and dev server are sampled while it runs (250 ms), analysed the way every
 * burst is (analyse-burst.ts): what the floors and the guide shape report.
 */
import type { Client } from '@temporalio/client';
import { analyseReference, type ReferenceAnalysis } from './analyse-burst';
import { runBurst, type BurstSpec } from './burst';
import type { BenchConfig } from './config';
import { Sampler, type Managed } from './proc';
import type { Stack } from './stack';

export async function measureBurst(
  client: Client,
  stack: Stack,
  worker: Managed,
  spec: BurstSpec,
  cfg: BenchConfig,
): Promise<ReferenceAnalysis> {
  const sampler = new Sampler({ worker: worker.pid, temporal: stack.temporal.process.pid ?? 0 });
  try {
    const burst = await runBurst(client, spec, cfg, {
      beforeMeasured: () => sampler.start(250),
      devServerMetricsUrl: stack.temporal.metricsUrl,
    });
    sampler.stop();
    return analyseReference(burst, sampler);
  } finally {
    sampler.stop();
  }
}
