// A budget's figures where its project is shown (issue 25): the project's
// header above every tab, the portfolio's table and the weekly report
// carry spent and left, hours and money; and a half day of absence asked
// for on the working-time screen. Screenshots are kept in
// t/browser/screenshots (budget-header.png, budget-portfolio.png,
// budget-report.png, absence-half-day.png) to be looked at.

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
let project;
const today = new Date().toISOString().slice(0, 10);

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
  project = await made('POST', '/api/v1/projects', { key: `BF${run}`, name: `Fixed price ${run}`, status: 'active' });
  await made('PUT', `/api/v1/projects/${project.id}/budget`, { hours: 5, amount: 1000, currency: 'EUR' });
  // a rate of this project only, from the first of the month
  await made('POST', '/api/v1/billing/rates', { project_id: project.id, hourly_rate: 100, currency: 'EUR',
                                                effective_from: `${today.slice(0, 8)}01` });
  await made('POST', '/api/v1/timesheets/entries', { project_id: project.id, date: today,
                                                     minutes: 180, billable: true, description: 'Design' });
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


test('budget figures in the project header, the portfolio and its report', async () => {
  const { context, page, errors } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/projects/${project.id}/board`);
    const head = page.getByTestId('project-budget');
    await head.waitFor();
    const text = await head.textContent();
    assert.match(text, /3 of 5 h, 2 h left/, `hours spent and left: ${text}`);
    assert.match(text, /300\.00 EUR of 1000\.00 EUR, 700\.00 EUR left/, `money billed and left: ${text}`);
    await page.screenshot({ path: join(SHOTS, 'budget-header.png') });

    // another entry moves the figures at once (kept by the write, not cached over)
    await made('POST', '/api/v1/timesheets/entries', { project_id: project.id, date: today,
                                                       minutes: 240, billable: false, description: 'Notes' });
    await page.reload();
    await page.getByTestId('project-budget').getByText('-2 h left').waitFor();

    await page.goto(`${fx.base}/portfolio`);
    const row = page.getByRole('row').filter({ hasText: `Fixed price ${run}` });
    await row.waitFor();
    assert.match(await row.textContent(), /7 of 5 h, -2 h left/, 'the portfolio table: overspent hours');
    assert.ok(await row.locator('.danger-text').count() > 0, 'overspent in red');
    await row.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'budget-portfolio.png'), fullPage: true });

    await page.goto(`${fx.base}/portfolio/report`);
    const section = page.locator('section.report-project').filter({ hasText: `Fixed price ${run}` });
    await section.waitFor();
    assert.match(await section.textContent(), /Budget: 7 of 5 h/, 'the weekly report per project');
    await section.screenshot({ path: join(SHOTS, 'budget-report.png') });
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});

test('a half day of absence is asked for on the working-time screen', async () => {
  const { context, page, errors } = await open();
  try {
    await signIn(page);
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
    const listed = (await made('GET', '/api/v1/absences')).items.filter((a) => a.start_date === day);
    assert.equal(listed.length, 1, 'one absence on that day');
    assert.equal(listed[0].half_day, true, 'saved as a half day');
    await mine.screenshot({ path: join(SHOTS, 'absence-half-day.png') });
    await made('POST', `/api/v1/absences/${listed[0].id}/cancel`);
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
