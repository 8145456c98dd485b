// Calendar feeds in a real browser (Debian's Chromium, headless, through
// playwright-core) against the nginx of t/browser.t: "Subscribe in a
// calendar" in the profile makes a URL shown once, copied, that a
// calendar app reads without a session; revoked, it is refused. The same
// box in a project's board settings. Screenshots: calendar-profile.png,
// calendar-project.png in t/browser/screenshots/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, fx, session, shot } from './lib.mjs';

const STEP = 30_000;   // a loaded 2-core machine: the profile loads five boxes

const { admin, api, signedIn } = session({ step: STEP, permissions: ['clipboard-read', 'clipboard-write'] });

// what a calendar app fetches: a feed, without a session
const feedOf = (url) => call(null, 'GET', url, undefined, { Accept: '*/*' });

test('calendar: a feed URL made in the profile, copied, read without a session, revoked and refused', async () => {
  const p = await api('POST', '/api/v1/projects', { name: 'Calendared', key: 'CLD' });
  const due = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  await api('POST', `/api/v1/projects/${p.id}/tasks`,
    { title: 'Renew the certificates', due_date: due, assignee_ids: [admin.user.id] });

  const { context, page, errors } = await signedIn();
  await page.goto(`${fx.base}/profile`);
  const box = page.locator('section.calendar-feeds');
  await page.locator('section.reminder-settings select').waitFor();
  await box.locator('ul.plain-list').waitFor({ state: 'attached' });   // empty: no feed yet
  await box.getByRole('button', { name: 'New calendar URL' }).click();
  const input = box.getByLabel('Calendar feed URL');
  await input.waitFor();
  const url = await input.inputValue();
  assert.match(url, /\/api\/v1\/ical\/[0-9a-f-]{36}\/[0-9a-f]{64}$/, 'the URL is shown');
  await box.getByRole('button', { name: 'Copy' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url, 'the URL copied');
  await box.locator('li', { hasText: 'tasks as to-dos' }).waitFor();
  await box.scrollIntoViewIfNeeded();
  await shot(page, 'calendar-profile');

  const feed = await feedOf(url);
  assert.equal(feed.status, 200, 'the feed is read without a session');
  assert.match(feed.type, /^text\/calendar/);
  assert.match(feed.text, /SUMMARY:CLD-1 Renew the certificates\r\n/, 'with the task');

  await box.getByRole('button', { name: 'Revoke' }).click();
  await page.getByText('Revoked: that URL no longer works.').first().waitFor();
  await box.locator('li').first().waitFor({ state: 'detached' });
  assert.equal((await feedOf(url)).status, 404, 'the revoked URL is refused');

  assert.deepEqual(errors, [], 'no uncaught exceptions');
  await context.close();
});

test('calendar: a project\'s feed URL made in its board settings', async () => {
  const p = await api('POST', '/api/v1/projects', { name: 'Roadmap', key: 'RDM' });
  await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: 'Ship the beta' });

  const { context, page, errors } = await signedIn();
  await page.goto(`${fx.base}/projects/${p.id}`);
  await page.locator('[data-task-id]', { hasText: 'Ship the beta' }).waitFor();
  await page.getByRole('button', { name: 'Board settings' }).click();
  const box = page.locator('section.calendar-feeds');
  await box.getByLabel('Tasks as').selectOption('event');
  await box.getByRole('button', { name: 'New calendar URL' }).click();
  const url = await box.getByLabel('Calendar feed URL').inputValue();
  await box.locator('li', { hasText: 'tasks as events' }).waitFor();
  await box.scrollIntoViewIfNeeded();
  await shot(page, 'calendar-project');
  const feed = await feedOf(url);
  assert.equal(feed.status, 200);
  assert.match(feed.text, /X-WR-CALNAME:RDM Roadmap\r\n/, 'the project\'s feed');
  const mine = await api('GET', `/api/v1/projects/${p.id}/calendar-feeds`);
  assert.equal(mine.items.length, 1, 'listed for its managers');

  assert.deepEqual(errors, [], 'no uncaught exceptions');
  await context.close();
});
