// A project's budget in a real browser (issue 25): the Budget tab shows
// what a project has spent, billed and has left against its budget, a
// manager sets the budget in its form, and the printable billable page
// opens in a new tab with the period's total. Screenshots are kept in
// t/browser/screenshots (budget.png, budget-print.png) to be looked at.

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
  project = await made('POST', '/api/v1/projects', { key: `BG${run}`, name: `Client retainer ${run}`, status: 'active' });
  // a rate of this project only, from the first of the month
  await made('POST', '/api/v1/billing/rates', { project_id: project.id, hourly_rate: 90,
                                                effective_from: `${today.slice(0, 8)}01` });
  await made('PUT', `/api/v1/projects/${project.id}/budget`, { hours: 10, amount: 1000 });
  await made('POST', '/api/v1/timesheets/entries', { project_id: project.id, date: today,
                                                     minutes: 480, billable: true, description: 'Workshop' });
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
    await page.screenshot({ path: join(SHOTS, 'budget.png'), fullPage: true });

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
    await print.screenshot({ path: join(SHOTS, 'budget-print.png'), fullPage: true });
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
