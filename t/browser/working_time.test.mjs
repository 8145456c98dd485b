// Working time in a real browser (issue 25): a past week of the admin's
// against a part-time target lowered by a public holiday, a day short of
// its break flagged, an absence requested from the page, and the timer
// paused and resumed. Screenshots are kept in t/browser/screenshots
// (working-time.png, timer-paused.png) to be looked at.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { chromium } from 'playwright-core';

const fixtureFile = process.env.KANBAN_BROWSER_FIXTURE;
if (!fixtureFile) {
  throw new Error('KANBAN_BROWSER_FIXTURE is not set: run this through ' +
                  't/browser.t (bash t/run t/browser.t)');
}
const fx = JSON.parse(readFileSync(fixtureFile, 'utf8'));
const PASSWORD = process.env.KANBAN_BROWSER_PASSWORD || 'correct horse battery staple';
const [ADMIN] = fx.emails;
const SHOTS = process.env.KANBAN_SCREENSHOTS ||
  join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const STEP = 15_000;
const run = Date.now().toString(36).toUpperCase().slice(-3);

let browser;
let token;

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

function call(method, path, body) {
  const url = new URL(fx.base + path);
  const data = body === undefined ? null : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: url.port, method, path: url.pathname + url.search,
      headers: {
        Host: url.host, Accept: 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(data ? { 'Content-Type': 'application/json' } : {}),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function made(method, path, body) {
  const r = await call(method, path, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

before(async () => {
  browser = await chromium.launch({
    executablePath: fx.chromium,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-dev-shm-usage',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
    ],
    timeout: 20_000,
  });
  token = (await made('POST', '/api/v1/auth/login', { email: ADMIN, password: PASSWORD })).access_token;
  const me = await made('GET', '/api/v1/auth/me');
  await made('PUT', `/api/v1/users/${me.id}/work-pattern`, { minutes: [480, 480, 240, 0, 0, 0, 0],
                                                            effective_from: day(0) });
  const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VEVENT', `DTSTART;VALUE=DATE:${compact(day(2))}`,
               `SUMMARY:Founders Day ${run}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
  const url = new URL(fx.base + '/api/v1/holidays/import');
  await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: url.port, method: 'POST', path: url.pathname,
      headers: { Host: url.host, Accept: 'application/json', Authorization: `Bearer ${token}`,
                 'Content-Type': 'text/calendar' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`import: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(ics);
  });
  await made('POST', '/api/v1/timesheets/entries', { date: day(0), minutes: 600, description: 'Long day' });
  await made('POST', '/api/v1/timesheets/entries', { date: day(1), minutes: 300, break_minutes: 15,
                                                     description: 'Short day' });
});

after(async () => { await browser?.close(); });

async function open() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  context.setDefaultTimeout(STEP);
  context.setDefaultNavigationTimeout(STEP);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

async function signIn(page) {
  await page.goto(`${fx.base}/`);
  await page.getByLabel('Email').fill(ADMIN);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.topbar').waitFor();
}


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
    assert.match(await page.getByTestId('my-absences').textContent(), /Vacation.*Requested/s, 'listed as requested');
    assert.match(await page.getByTestId('holidays').textContent(), new RegExp(`Founders Day ${run}`), 'the holiday listed');
    await page.screenshot({ path: join(SHOTS, 'working-time.png'), fullPage: true });
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
    await page.screenshot({ path: join(SHOTS, 'timer-paused.png') });
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
    await page.screenshot({ path: join(SHOTS, 'time-import.png') });
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
