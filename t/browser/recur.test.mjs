// Work that plans itself, in a real browser (Debian's Chromium, headless,
// through playwright-core) against the nginx of t/browser.t: the task
// panel's Repeat control (a custom rule said in words as it is made,
// "Every 2 weeks on Mon, Wed", saved; one date skipped, another changed,
// the series untouched), "Remind me" on the task, and the person's
// reminder hour in their profile. A screenshot of each in
// t/browser/screenshots/ (recur-*.png).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fx, session, shot } from './lib.mjs';

const STEP = 10_000;

const { api, signedIn } = session({ step: STEP });

// a Monday some weeks ahead, so that its dates are all to come
function mondayAhead(weeks) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 7 * weeks + ((8 - d.getUTCDay()) % 7 || 7));
  return d.toISOString().slice(0, 10);
}

test('repeat: a custom rule is said in words as it is made, saved, and one date skipped and one changed', async () => {
  const p = await api('POST', '/api/v1/projects', { name: 'Routines', key: 'RTN' });
  const due = mondayAhead(2);
  const t = await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: 'Review the firewall rules', due_date: due });

  const { context, page, errors } = await signedIn();
  await page.goto(`${fx.base}/tasks/${t.id}`);
  const repeat = page.locator('section.repeat');
  await repeat.getByText('Does not repeat.').waitFor();
  await repeat.getByRole('button', { name: 'Repeat…' }).click();

  await repeat.getByLabel('Repeat preset').selectOption('custom');
  await repeat.getByLabel('Interval').fill('2');
  await repeat.getByLabel('Unit').selectOption('WEEKLY');
  await repeat.getByLabel('Wed').check();
  const preview = repeat.locator('.repeat-preview');
  await assert.doesNotReject(preview.getByText('Every 2 weeks on Mon, Wed').waitFor(),
    'the rule in words as it is edited');
  assert.match(await preview.textContent(), /FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE/);
  await shot(page, 'recur-custom-rule');

  await repeat.getByRole('button', { name: 'Save' }).click();
  await repeat.locator('.repeat-summary', { hasText: 'Every 2 weeks on Mon, Wed' }).waitFor();
  const rows = repeat.locator('li.occurrence');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 6, 'the next six dates are listed');
  assert.match(await rows.nth(0).textContent(), /made/, 'the task is its own first date');

  // the second date skipped, the third changed
  await rows.nth(1).getByRole('button', { name: 'Skip' }).click();
  await repeat.locator('li.occurrence.skipped').waitFor();
  await rows.nth(2).getByRole('button', { name: 'Change' }).click();
  await rows.nth(2).getByPlaceholder('Title for this date only').fill('Review the firewall rules and the VPN');
  await rows.nth(2).getByRole('button', { name: 'Save' }).click();
  await repeat.locator('li.occurrence.planned', { hasText: 'and the VPN' }).waitFor();
  await shot(page, 'recur-occurrences');

  const occ = await api('GET', `/api/v1/tasks/${t.id}/recurrence/occurrences?from=${due}&limit=4`);
  assert.deepEqual(occ.items.map((o) => o.state), ['made', 'skipped', 'planned', 'upcoming'],
    'the API agrees: made, skipped, changed, to come');
  const rec = await api('GET', `/api/v1/tasks/${t.id}/recurrence`);
  assert.equal(rec.rule, 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE', 'the rule saved is the one shown');
  assert.equal((await api('GET', `/api/v1/tasks/${t.id}`)).title, 'Review the firewall rules',
    'the series\' task is untouched');

  assert.deepEqual(errors, [], 'no uncaught exceptions');
  await context.close();
});

test('remind me: a reminder in an hour is set and listed, then cancelled; the reminder hour is set in the profile', async () => {
  const p = await api('POST', '/api/v1/projects', { name: 'Reminded', key: 'RMD' });
  const t = await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: 'Call the auditor' });

  const { context, page, errors } = await signedIn();
  await page.goto(`${fx.base}/tasks/${t.id}`);
  const remind = page.locator('section.remind');
  await remind.getByLabel('Reminder note').fill('ask about the Q3 report');
  await remind.getByRole('button', { name: 'In 1 hour' }).click();
  await remind.locator('.reminders li', { hasText: 'ask about the Q3 report' }).waitFor();
  await shot(page, 'recur-remind-me');
  const mine = await api('GET', `/api/v1/tasks/${t.id}/reminders`);
  assert.equal(mine.items.length, 1, 'one reminder waits');
  const inMin = (new Date(mine.items[0].remind_at) - Date.now()) / 60_000;
  assert.ok(inMin > 55 && inMin <= 61, `in an hour (${inMin.toFixed(1)} min)`);
  await remind.getByRole('button', { name: /Cancel the reminder/ }).click();
  await remind.locator('.reminders').waitFor({ state: 'detached' });
  assert.equal((await api('GET', `/api/v1/tasks/${t.id}/reminders`)).items.length, 0, 'cancelled');

  await page.goto(`${fx.base}/profile`);
  const box = page.locator('section.reminder-settings');
  await box.getByLabel('Reminder hour').selectOption('7');
  await page.getByText('Saved.').first().waitFor();
  await shot(page, 'recur-reminder-hour');
  const s = await api('GET', '/api/v1/me/reminder-settings');
  assert.equal(s.hour, 7, 'the hour is stored');

  assert.deepEqual(errors, [], 'no uncaught exceptions');
  await context.close();
});
