/**
 * vitest globalSetup for the integration project: one real Temporal dev server per test run,
 * handed to test files through provide/inject. Test files connect with
 * TestWorkflowEnvironment.createFromExistingServer.
 */
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../devtools/temporal/dev-server';

let server: DevServer | undefined;

export default async function setup(project: TestProject) {
  server = await startDevServer();
  project.provide('temporalAddress', server.address);
  return async () => {
    await server?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}
