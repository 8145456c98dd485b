// Calendar feeds in a real browser (Debian's Chromium, headless, through
// playwright-core) against the nginx of t/browser.t: "Subscribe in a
// calendar" in the profile makes a URL shown once, copied, that a
// calendar app reads without a session; revoked, it is refused. The same
// box in a project's board settings. Screenshots: calendar-profile.png,
// calendar-project.png in t/browser/screenshots/.

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
const STEP = 30_000;   // a loaded 2-core machine: the profile loads five boxes

let browser;
let admin;

function call(token, method, path, body) {
  const u = new URL(path.startsWith('http') ? path : fx.base + path);
  const h = { Accept: '*/*', Host: u.host };
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
        resolve({ status: res.statusCode, type: res.headers['content-type'], json, text });
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
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fx.base });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${fx.base}/`);
  await page.getByLabel('Email').fill(ADMIN);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.topbar').waitFor();
  return { context, page, errors };
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

test('calendar: a feed URL made in the profile, copied, read without a session, revoked and refused', async () => {
  const p = await api('POST', '/api/v1/projects', { name: 'Calendared', key: 'CLD' });
  const due = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  await api('POST', `/api/v1/projects/${p.id}/tasks`,
    { title: 'Renew the certificates', due_date: due, assignee_ids: [admin.user.id] });

  const { context, page, errors } = await open();
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

  const feed = await call(null, 'GET', url);
  assert.equal(feed.status, 200, 'the feed is read without a session');
  assert.match(feed.type, /^text\/calendar/);
  assert.match(feed.text, /SUMMARY:CLD-1 Renew the certificates\r\n/, 'with the task');

  await box.getByRole('button', { name: 'Revoke' }).click();
  await page.getByText('Revoked: that URL no longer works.').first().waitFor();
  await box.locator('li').first().waitFor({ state: 'detached' });
  assert.equal((await call(null, 'GET', url)).status, 404, 'the revoked URL is refused');

  assert.deepEqual(errors, [], 'no uncaught exceptions');
  await context.close();
});

test('calendar: a project\'s feed URL made in its board settings', async () => {
  const p = await api('POST', '/api/v1/projects', { name: 'Roadmap', key: 'RDM' });
  await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: 'Ship the beta' });

  const { context, page, errors } = await open();
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
  const feed = await call(null, 'GET', url);
  assert.equal(feed.status, 200);
  assert.match(feed.text, /X-WR-CALNAME:RDM Roadmap\r\n/, 'the project\'s feed');
  const mine = await api('GET', `/api/v1/projects/${p.id}/calendar-feeds`);
  assert.equal(mine.items.length, 1, 'listed for its managers');

  assert.deepEqual(errors, [], 'no uncaught exceptions');
  await context.close();
});
