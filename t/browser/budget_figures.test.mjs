// A budget's figures where its project is shown (issue 25): the project's
// header above every tab, the portfolio's table and the weekly report
// carry spent and left, hours and money; and a half day of absence asked
// for on the working-time screen. Screenshots are kept in
// t/browser/screenshots (budget-header.png, budget-portfolio.png,
// budget-report.png, absence-half-day.png) to be looked at.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fx, runTag, session, shot } from './lib.mjs';

const run = runTag();
const today = new Date().toISOString().slice(0, 10);
let project;

// a fixed-price project with 3 of its 5 budgeted hours booked at 100 EUR an hour
const { api, signedIn } = session({
  viewport: { width: 1400, height: 1000 },
  async setup({ api }) {
    project = await api('POST', '/api/v1/projects', { key: `BF${run}`, name: `Fixed price ${run}`, status: 'active' });
    await api('PUT', `/api/v1/projects/${project.id}/budget`, { hours: 5, amount: 1000, currency: 'EUR' });
    // a rate of this project only, from the first of the month
    await api('POST', '/api/v1/billing/rates', { project_id: project.id, hourly_rate: 100, currency: 'EUR',
                                                 effective_from: `${today.slice(0, 8)}01` });
    await api('POST', '/api/v1/timesheets/entries', { project_id: project.id, date: today,
                                                      minutes: 180, billable: true, description: 'Design' });
  },
});


test('budget figures in the project header, the portfolio and its report', async () => {
  const { context, page, errors } = await signedIn();
  try {
    await page.goto(`${fx.base}/projects/${project.id}/board`);
    const head = page.getByTestId('project-budget');
    await head.waitFor();
    const text = await head.textContent();
    assert.match(text, /3 of 5 h, 2 h left/, `hours spent and left: ${text}`);
    assert.match(text, /300\.00 EUR of 1000\.00 EUR, 700\.00 EUR left/, `money billed and left: ${text}`);
    await shot(page, 'budget-header');

    // another entry moves the figures at once (kept by the write, not cached over)
    await api('POST', '/api/v1/timesheets/entries', { project_id: project.id, date: today,
                                                       minutes: 240, billable: false, description: 'Notes' });
    await page.reload();
    await page.getByTestId('project-budget').getByText('-2 h left').waitFor();

    await page.goto(`${fx.base}/portfolio`);
    const row = page.getByRole('row').filter({ hasText: `Fixed price ${run}` });
    await row.waitFor();
    assert.match(await row.textContent(), /7 of 5 h, -2 h left/, 'the portfolio table: overspent hours');
    assert.ok(await row.locator('.danger-text').count() > 0, 'overspent in red');
    await row.scrollIntoViewIfNeeded();
    await shot(page, 'budget-portfolio', { fullPage: true });

    await page.goto(`${fx.base}/portfolio/report`);
    const section = page.locator('section.report-project').filter({ hasText: `Fixed price ${run}` });
    await section.waitFor();
    assert.match(await section.textContent(), /Budget: 7 of 5 h/, 'the weekly report per project');
    await shot(section, 'budget-report');
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});

test('a half day of absence is asked for on the working-time screen', async () => {
  const { context, page, errors } = await signedIn();
  try {
    await page.goto(`${fx.base}/time/working`);
    const form = page.getByRole('form', { name: 'Request an absence' });
    await form.waitFor();
    const day = new Date(Date.now() + 60 * 86400_000).toISOString().slice(0, 10);
    await form.getByLabel('First day').fill(day);
    await form.getByLabel('Half a day').check();
    assert.equal(await form.getByLabel('Last day').count(), 0, 'a half day has no last day');
    await form.getByRole('button', { name: 'Request' }).click();
    await page.getByText('Absence requested.').waitFor();
    const mine = page.getByTestId('my-absences');
    await mine.getByText('half a day').waitFor();
    const listed = (await api('GET', '/api/v1/absences')).items.filter((a) => a.start_date === day);
    assert.equal(listed.length, 1, 'one absence on that day');
    assert.equal(listed[0].half_day, true, 'saved as a half day');
    await shot(mine, 'absence-half-day');
    await api('POST', `/api/v1/absences/${listed[0].id}/cancel`);
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
