// Working time in a real browser (issue 25): a past week of the admin's
// against a part-time target lowered by a public holiday, a day short of
// its break flagged, an absence requested from the page, and the timer
// paused and resumed. Screenshots are kept in t/browser/screenshots
// (working-time.png, timer-paused.png) to be looked at.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, client, fx, launch, open as openPage, runTag, shot, signIn } from './lib.mjs';

const run = runTag();
const admin = client();
const made = admin.api;

let browser;

// the Monday three weeks back: a past week of the admin's own
const monday = (() => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() || 7) - 1) - 21);
  return d;
})();
const day = (n) => {
  const d = new Date(monday);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
};
const compact = (s) => s.replaceAll('-', '');

before(async () => {
  browser = await launch();
  await admin.login();
  const me = await made('GET', '/api/v1/auth/me');
  await made('PUT', `/api/v1/users/${me.id}/work-pattern`, { minutes: [480, 480, 240, 0, 0, 0, 0],
                                                            effective_from: day(0) });
  const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VEVENT', `DTSTART;VALUE=DATE:${compact(day(2))}`,
               `SUMMARY:Founders Day ${run}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
  const imported = await admin.call('POST', '/api/v1/holidays/import', ics, { 'Content-Type': 'text/calendar' });
  assert.equal(imported.status, 200, `import: ${imported.status} ${imported.text}`);
  await made('POST', '/api/v1/timesheets/entries', { date: day(0), minutes: 600, description: 'Long day' });
  await made('POST', '/api/v1/timesheets/entries', { date: day(1), minutes: 300, break_minutes: 15,
                                                     description: 'Short day' });
});

after(async () => { await browser?.close(); });

const open = () => openPage(browser, { viewport: { width: 1400, height: 1000 } });


test('working time: the target, a holiday, a day short of its break, an absence requested', async () => {
  const { context, page, errors } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/time/working`);
    const week = page.getByTestId('working-week');
    await week.waitFor();
    for (let i = 0; i < 3; i++) {
      const before = await week.textContent();
      await page.getByRole('button', { name: 'Previous week' }).click();
      await page.waitForFunction((b) => document.querySelector('[data-testid="working-week"]')?.textContent !== b, before);
    }
    const text = await week.textContent();
    assert.match(text, /16h\s*target/, `8 + 8 h, Wednesday a holiday: ${text}`);
    assert.match(text, /15h\s*worked/, `10 + 5 hours: ${text}`);
    assert.match(text, /Holiday/, `the holiday named: ${text}`);
    assert.match(text, /needs 30 min of break/, `Monday's 10 hours without a break: ${text}`);
    assert.match(text, /1\s*days short of a break/, `one day flagged: ${text}`);

    const form = page.getByRole('form', { name: 'Request an absence' });
    await form.getByLabel('First day').fill(day(21 + 7));
    await form.getByLabel('Last day').fill(day(21 + 8));
    await form.getByRole('button', { name: 'Request' }).click();
    await page.getByText('Absence requested.').waitFor();
    // the list is read again after the message shows: wait for its row
    const absences = page.getByTestId('my-absences');
    await absences.getByText('Requested').first().waitFor();
    assert.match(await absences.textContent(), /Vacation.*Requested/s, 'listed as requested');
    assert.match(await page.getByTestId('holidays').textContent(), new RegExp(`Founders Day ${run}`), 'the holiday listed');
    await shot(page, 'working-time', { fullPage: true });
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});

test('working time: the timer pauses for a break and resumes', async () => {
  const { context, page, errors } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/time`);
    await page.getByRole('button', { name: 'Start timer' }).click();
    await page.getByRole('timer', { name: 'Timer running' }).waitFor();
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('timer', { name: 'Timer paused' }).waitFor();
    await shot(page, 'timer-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('timer', { name: 'Timer running' }).waitFor();
    await page.getByRole('button', { name: 'Discard' }).click();
    await page.getByRole('button', { name: 'Start timer' }).waitFor();
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});

test('working time: a Toggl export imported, a bad row named first', async () => {
  const { context, page, errors } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/time/working`);
    const header = 'User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags,Amount (USD)';
    const good = `Ada,${ADMIN},,,,Imported ${run},Yes,${day(3)},09:00:00,${day(3)},10:00:00,01:00:00,,`;
    const bad = `Ghost,ghost@nowhere.example,,,,Who,No,${day(3)},09:00:00,${day(3)},10:00:00,01:00:00,,`;
    await page.getByLabel('Exported from').selectOption('toggl');
    await page.getByLabel('CSV export').setInputFiles({ name: 'toggl.csv', mimeType: 'text/csv',
      buffer: Buffer.from([header, good, bad, ''].join('\r\n')) });
    const problem = page.getByTestId('import-problem');
    await problem.waitFor();
    assert.match(await problem.textContent(), /row 3: nobody here has the email ghost@nowhere\.example/, 'the bad row named');
    await page.getByLabel('CSV export').setInputFiles({ name: 'toggl.csv', mimeType: 'text/csv',
      buffer: Buffer.from([header, good, ''].join('\r\n')) });
    await page.getByTestId('import-result').waitFor();
    assert.match(await page.getByTestId('import-result').textContent(), /1 entry \(1h\) imported/, 'one entry imported');
    await page.getByRole('heading', { name: 'Import time' }).scrollIntoViewIfNeeded();
    await shot(page, 'time-import');
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
