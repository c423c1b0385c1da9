/**
 * vitest globalSetup for the integration project: one real Temporal dev server per test run, its
 * Web UI and its metrics on free loopback ports, handed to test files through provide/inject. Test files connect
 * with TestWorkflowEnvironment.createFromExistingServer; the browser test opens the UI.
 */
import type { TestProject } from 'vitest/node';
import { freePort, startDevServer, type DevServer } from '../devtools/temporal/dev-server';

let server: DevServer | undefined;

export default async function setup(project: TestProject) {
  server = await startDevServer({ uiPort: await freePort() });
  project.provide('temporalAddress', server.address);
  project.provide('temporalUiUrl', server.uiUrl ?? '');
  project.provide('temporalMetricsUrl', server.metricsUrl);
  return async () => {
    await server?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    temporalMetricsUrl: string;
  }
}
