/**
 * The Temporal Web UI in a real browser (playwright-core driving Debian's chromium; `make test`
 * installs it): the dev server's UI (test/global-setup.ts), an execution started through the client
 * library the CLI uses, run by the in-process worker against the simulator. The workflow list
 * filtered by PolicyId shows the execution; its page's User Metadata shows its summary, its static
 * details and the current details the workflow set (step, polls n of max, last API status).
 */
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startExecution } from '../../src/client';
import { policyWithId, startHarness, uniqueId, type Harness } from '../helpers/harness';

/** Debian's chromium (`make test` installs it: the $(STAMPS)/chromium target). */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`no browser at ${CHROMIUM}: run 'make test' (it installs chromium) or set CHROMIUM_PATH`);
  h = await startHarness();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** The page's text and its frames' (the UI renders Markdown metadata in frames). */
async function allText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((f) =>
      f
        .locator('body')
        .innerText({ timeout: 5_000 })
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

async function waitForText(page: Page, what: readonly string[], ms = 60_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await allText(page);
    if (what.every((w) => text.includes(w))) return text;
    if (Date.now() > deadline)
      throw new Error(`the page never showed ${JSON.stringify(what.filter((w) => !text.includes(w)))}`);
    await page.waitForTimeout(500);
  }
}

it('the list filtered by PolicyId shows the execution; its page shows its summary and current details', async () => {
  const ui = inject('temporalUiUrl');
  expect(ui, 'the dev server of the test run serves its Web UI').toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const policyId = uniqueId('pol-ui');
  const id = uniqueId('exec-ui');
  const handle = await startExecution(h.env.client, {
    policy: policyWithId(policyId),
    id,
    options: { maxPolls: 3, pollIntervalMs: 50, refreshModel: false },
    taskQueue: h.taskQueue,
    trigger: 'cli',
  });
  await handle.result();

  const page = await browser.newPage();
  try {
    const query = encodeURIComponent(`PolicyId = "${policyId}"`);
    await page.goto(`${ui}/namespaces/default/workflows?query=${query}`);
    const row = page.getByRole('link', { name: id, exact: true });
    await row.first().waitFor({ timeout: 60_000 });
    const listed = await allText(page);
    expect(listed).toContain('policyExecution');
    expect(listed).toContain('1 COMPLETED');

    await row.first().click();
    await page.getByText('User Metadata', { exact: true }).click();
    const text = await waitForText(page, [
      'sample_policy · data_governance · priority high',
      `execution_id = ${id}`,
      'Completed: policy created, ready, circuit breaker triggered',
      'polls 1 of 3',
      'Last API status',
      policyId,
    ]);
    expect(text).toContain('Current Details');
  } finally {
    await page.close();
  }
});
