// Work that plans itself, in a real browser (Debian's Chromium, headless,
// through playwright-core) against the nginx of t/browser.t: the task
// panel's Repeat control (a custom rule said in words as it is made,
// "Every 2 weeks on Mon, Wed", saved; one date skipped, another changed,
// the series untouched), "Remind me" on the task, and the person's
// reminder hour in their profile. A screenshot of each in
// t/browser/screenshots/ (recur-*.png).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { chromium } from 'playwright-core';

const fx = JSON.parse(readFileSync(process.env.KANBAN_BROWSER_FIXTURE, 'utf8'));
const PASSWORD = process.env.KANBAN_BROWSER_PASSWORD || 'correct horse battery staple';
const [ADMIN] = fx.emails;
const SHOTS = process.env.KANBAN_SCREENSHOTS ||
  join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const STEP = 10_000;

let browser;
let admin;

function call(token, method, path, body) {
  const u = new URL(fx.base + path);
  const h = { Accept: 'application/json', Host: u.host };
  if (token) h.Authorization = `Bearer ${token}`;
  let data;
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    data = JSON.stringify(body);
    h['Content-Length'] = Buffer.byteLength(data);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

async function api(method, path, body) {
  const r = await call(admin?.token, method, path, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

before(async () => {
  browser = await chromium.launch({
    executablePath: fx.chromium, headless: true, chromiumSandbox: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-dev-shm-usage',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1'],
    timeout: 20_000,
  });
  const s = await call(null, 'POST', '/api/v1/auth/login', { email: ADMIN, password: PASSWORD });
  assert.equal(s.status, 200, `login: ${s.text}`);
  admin = { token: s.json.access_token, user: s.json.user };
});

after(async () => { await browser?.close(); });

async function open() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
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

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

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

  const { context, page, errors } = await open();
  await signIn(page);
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

  const { context, page, errors } = await open();
  await signIn(page);
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
