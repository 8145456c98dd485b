// A project's budget in a real browser (issue 25): the Budget tab shows
// what a project has spent, billed and has left against its budget, a
// manager sets the budget in its form, and the printable billable page
// opens in a new tab with the period's total. Screenshots are kept in
// t/browser/screenshots (budget.png, budget-print.png) to be looked at.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, fx, launch, open as openPage, runTag, shot, signIn } from './lib.mjs';

const run = runTag();
const admin = client();
const made = admin.api;

let browser;
let project;
const today = new Date().toISOString().slice(0, 10);

before(async () => {
  browser = await launch();
  await admin.login();
  project = await made('POST', '/api/v1/projects', { key: `BG${run}`, name: `Client retainer ${run}`, status: 'active' });
  // a rate of this project only, from the first of the month
  await made('POST', '/api/v1/billing/rates', { project_id: project.id, hourly_rate: 90,
                                                effective_from: `${today.slice(0, 8)}01` });
  await made('PUT', `/api/v1/projects/${project.id}/budget`, { hours: 10, amount: 1000 });
  await made('POST', '/api/v1/timesheets/entries', { project_id: project.id, date: today,
                                                     minutes: 480, billable: true, description: 'Workshop' });
});

after(async () => { await browser?.close(); });

const open = () => openPage(browser, { viewport: { width: 1400, height: 1000 } });


test('the Budget tab shows spent, billed and left, and sets the budget', async () => {
  const { context, page, errors } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/projects/${project.id}/board`);
    await page.getByRole('link', { name: 'Budget', exact: true }).click();
    const figures = page.getByTestId('budget-figures');
    await figures.waitFor();
    const text = await figures.textContent();
    assert.match(text, /8 h/, `8 hours logged: ${text}`);
    assert.match(text, /720\.00 EUR/, `8 h at 90 billed: ${text}`);
    assert.match(text, /80 %/, `80 % of the hours used: ${text}`);
    assert.match(text, /80 % of the hours budget/, `the threshold crossed is listed: ${text}`);
    assert.match(await page.getByTestId('billable-people').textContent(), /720\.00/,
                 'the report of this month bills the entry');
    await shot(page, 'budget', { fullPage: true });

    // a raised budget: 20 hours, so 40 % used and the thresholds forgotten
    await page.getByRole('spinbutton', { name: 'Hours' }).fill('20');
    await page.getByRole('button', { name: 'Save budget' }).click();
    await page.getByText('Budget saved.').waitFor();
    await page.getByText('12 h left').waitFor();
    const b = await made('GET', `/api/v1/projects/${project.id}/budget`);
    assert.equal(b.hours, 20, 'saved through the API');

    // the printable page opens in a new tab
    const [print] = await Promise.all([
      context.waitForEvent('page'),
      page.getByRole('button', { name: 'Printable page' }).click(),
    ]);
    await print.waitForLoadState();
    await print.getByRole('heading', { name: 'Billable time' }).waitFor();
    assert.match(await print.locator('tfoot').textContent(), /720\.00 EUR/, 'the total on the page');
    await shot(print, 'budget-print', { fullPage: true });
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
