// The web UI in a real browser: Debian's Chromium, headless, driven by
// playwright-core against the nginx that t/browser.t started, signed in as
// the people of its workspace (the harness's password). Each flow makes
// what it needs through the API first, goes through the screens as a
// person would, checks the result through the API, and leaves a
// screenshot in t/browser/screenshots/ (KANBAN_SCREENSHOTS to change it).
//
// Every page must run clean: no uncaught exception, no CSP violation, no
// console error but the HTTP errors a flow expects (the silent refresh's
// 401 before sign-in, the event stream's 404 while the server has none).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ADMIN, CARL, PASSWORD, assertAppClean, call, fx, launch, made,
         open as openPage, platform, runTag, shot, signIn } from './lib.mjs';

const run = runTag(4);

let browser;
let admin;          // { token, user }

before(async () => {
  browser = await launch();
  admin = await apiLogin(ADMIN);
});

after(async () => { await browser?.close(); });


// ---- the API, from node ----------------------------------------------

async function apiLogin(email) {
  const s = await made(call(null, 'POST', '/api/v1/auth/login', { email, password: PASSWORD }), `login ${email}`);
  return { token: s.access_token, user: s.user };
}

const api = (method, path, body) => made(call(admin.token, method, path, body), `${method} ${path}`);

async function project(name, key) {
  const p = await api('POST', '/api/v1/projects', { name, key, description: 'Made by the browser tests.' });
  const cols = (await api('GET', `/api/v1/projects/${p.id}/columns`)).items;
  const col = Object.fromEntries(cols.map((c) => [c.category, c]));
  return { ...p, col };
}

const task = (p, title, category, more = {}) =>
  api('POST', `/api/v1/projects/${p.id}/tasks`, { title, column_id: p.col[category].id, ...more });


// ---- the browser ------------------------------------------------------

// opts: viewport, userAgent, mobile (lib.mjs's open)
const open = (opts = {}) => openPage(browser, opts);

const card = (page, title) => page.locator('[data-task-id]', { hasText: title });
const cell = (page, p, category) => page.locator(`section.cell[data-cell^="${p.col[category].id}|"]`);

async function drag(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + 15);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 10, a.y + 25, { steps: 4 });
  await page.mouse.move(b.x + b.width / 2, b.y + Math.min(b.height - 10, 40), { steps: 12 });
  await page.waitForTimeout(150);
  await page.mouse.up();
}


// ---- the flows --------------------------------------------------------

test('sign-in: a wrong password is explained, the right one opens the ' +
     'projects, a reload keeps the session, sign-out ends it', { timeout: 60_000 }, async () => {
  const { context, page, log } = await open();
  try {
    const r = await page.goto(`${fx.base}/`);
    assert.equal(r.headers()['cache-control'], 'no-cache', 'index.html is revalidated');
    assert.match(r.headers()['content-security-policy'] || '', /script-src 'self'/);
    await page.getByLabel('Email').fill(ADMIN);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /\w/, 'the problem\'s message is shown');
    await shot(page, '01-sign-in-error');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie readable by scripts');
    assert.equal(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage)), '{}{}',
                 'no token in web storage');

    // the access token is in memory only: a reload signs in again from
    // the HttpOnly refresh cookie
    const [refresh] = await Promise.all([
      page.waitForResponse((x) => x.url().endsWith('/api/v1/auth/refresh')),
      page.reload(),
    ]);
    assert.equal(refresh.status(), 200, 'the silent refresh');
    assert.equal(refresh.request().headers()['x-kanban-csrf'], '1', 'with the CSRF header');
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await shot(page, '02-projects');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await assertAppClean(page, log, 'sign-in', [/status of 401/]);
  } finally {
    await context.close();
  }
});

test('board: a card dragged to another column is there after a reload; ' +
     'a full column sends it back and says why', { timeout: 60_000 }, async () => {
  const p = await project(`Board ${run}`, `BD${run}`.slice(0, 8));
  const t1 = await task(p, 'Drag me across', 'todo', { priority: 'high', labels: ['ui'] });
  await task(p, 'Stay in place', 'todo');
  await task(p, 'Already in progress', 'in_progress');
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/projects/${p.id}`);
    await card(page, 'Drag me across').waitFor();
    await shot(page, '03-board');

    const [moved] = await Promise.all([
      page.waitForResponse((r) => r.url().includes(`/tasks/${t1.id}/move`)),
      drag(page, card(page, 'Drag me across'), cell(page, p, 'in_progress')),
    ]);
    assert.equal(moved.status(), 200, 'the move is stored');
    const body = JSON.parse(moved.request().postData());
    assert.equal(body.column_id, p.col.in_progress.id);
    await cell(page, p, 'in_progress').locator('[data-task-id]', { hasText: 'Drag me across' }).waitFor();
    const stored = await api('GET', `/api/v1/tasks/${t1.id}`);
    assert.equal(stored.column_id, p.col.in_progress.id, 'the API has it in In Progress');
    await page.reload();
    await cell(page, p, 'in_progress').locator('[data-task-id]', { hasText: 'Drag me across' }).waitFor();
    await shot(page, '04-board-after-drag');

    // a WIP limit of 2, reached: the next card comes back, explained
    await api('PATCH', `/api/v1/columns/${p.col.in_progress.id}`, { wip_limit: 2 });
    await page.reload();
    await page.locator('.col-count', { hasText: '2 / 2' }).waitFor();
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/move')),
      drag(page, card(page, 'Stay in place'), cell(page, p, 'in_progress')),
    ]);
    assert.equal(refused.status(), 409);
    const toast = page.locator('.toast.error');
    await toast.waitFor();
    assert.match(await toast.innerText(), /WIP limit of 2/);
    await cell(page, p, 'todo').locator('[data-task-id]', { hasText: 'Stay in place' }).waitFor();
    await page.waitForTimeout(400);          // the cards' settling animation
    await shot(page, '05-board-wip-limit');
    await assertAppClean(page, log, 'the board', [/status of 409/]);
  } finally {
    await context.close();
  }
});

test('board: the keyboard moves a card (space, arrows, space)', { timeout: 60_000 }, async () => {
  const p = await project(`Keys ${run}`, `KY${run}`.slice(0, 8));
  const t = await task(p, 'Move me by keyboard', 'backlog');
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/projects/${p.id}`);
    const c = card(page, 'Move me by keyboard');
    await c.focus();
    await page.keyboard.press('Space');
    await page.waitForTimeout(200);
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(300);
    const [r] = await Promise.all([
      page.waitForResponse((x) => x.url().includes(`/tasks/${t.id}/move`)),
      page.keyboard.press('Space'),
    ]);
    assert.equal(r.status(), 200);
    const stored = await api('GET', `/api/v1/tasks/${t.id}`);
    assert.equal(stored.column_id, p.col.todo.id, 'one column to the right: To Do');
    await assertAppClean(page, log, 'keyboard move');
  } finally {
    await context.close();
  }
});

test('task detail: title, priority, labels, a comment with an @mention, ' +
     'a subtask and an attachment, all stored', { timeout: 60_000 }, async () => {
  const p = await project(`Detail ${run}`, `DT${run}`.slice(0, 8));
  const t = await task(p, 'Edit me in the panel', 'todo');
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/projects/${p.id}`);
    await card(page, 'Edit me in the panel').click();
    const panel = page.locator('aside.panel');
    await panel.waitFor();

    const title = panel.getByLabel('Title', { exact: true });
    await title.fill('Edited in the panel');
    let saved = page.waitForResponse((r) => r.url().endsWith(`/tasks/${t.id}`) && r.request().method() === 'PATCH');
    await title.press('Enter');
    assert.equal((await saved).status(), 200);

    saved = page.waitForResponse((r) => r.url().endsWith(`/tasks/${t.id}`) && r.request().method() === 'PATCH');
    await panel.getByLabel('Priority').selectOption('urgent');
    assert.equal((await saved).status(), 200);

    const labels = panel.getByLabel('Labels');
    await labels.fill('frontend, tested');
    saved = page.waitForResponse((r) => r.url().endsWith(`/tasks/${t.id}`) && r.request().method() === 'PATCH');
    await labels.blur();
    assert.equal((await saved).status(), 200);

    await panel.getByLabel('New subtask title').fill('A subtask');
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await panel.getByText('A subtask').waitFor();

    // @mention: type @ and a letter, choose Carl from the list
    const box = panel.getByLabel('Write a comment');
    await box.click();
    await box.pressSequentially('Please look, @car');
    await page.locator('.mention-list [role=option]', { hasText: 'Carl' }).click();
    await box.pressSequentially('thanks');
    await panel.getByRole('button', { name: 'Comment', exact: true }).click();
    await panel.locator('.comment .mention').first().waitFor();

    await panel.locator('input[type=file]').setInputFiles({
      name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the browser test\n'),
    });
    await panel.getByRole('button', { name: 'notes.txt', exact: true }).waitFor();
    await shot(page, '06-task-detail');

    const stored = await api('GET', `/api/v1/tasks/${t.id}`);
    assert.equal(stored.title, 'Edited in the panel');
    assert.equal(stored.priority, 'urgent');
    assert.deepEqual(stored.labels, ['frontend', 'tested']);
    const comments = (await api('GET', `/api/v1/tasks/${t.id}/comments`)).items;
    assert.match(comments[0].body, /^Please look, @carl[.\w]* thanks$/);
    const files = (await api('GET', `/api/v1/tasks/${t.id}/attachments`)).items;
    assert.equal(files[0].filename, 'notes.txt');
    assert.equal((await api('GET', `/api/v1/tasks/${t.id}/subtasks`)).items[0].title, 'A subtask');

    // Carl was told
    const carl = await apiLogin(CARL);
    const n = await made(call(carl.token, 'GET', '/api/v1/notifications'), 'notifications');
    assert.ok(n.items.some((x) => x.kind === 'mentioned'), 'Carl has a "mentioned" notification');
    await assertAppClean(page, log, 'task detail');
  } finally {
    await context.close();
  }
});

test('share dialog: a link with a password and its QR code; opened in a ' +
     'private context it asks for the password, then shows the task', { timeout: 60_000 }, async () => {
  const p = await project(`Share ${run}`, `SH${run}`.slice(0, 8));
  const t = await task(p, 'Share me', 'in_progress', { description: 'Read-only for guests.' });
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/tasks/${t.id}`);
    await page.getByRole('button', { name: 'Share' }).click();
    const dialog = page.getByRole('dialog', { name: /Share/ });
    await dialog.getByLabel('Password').fill('guest pass 1');
    await dialog.getByLabel('Max visits').fill('5');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const link = dialog.getByLabel('Short link');
    await link.waitFor();
    const url = await link.inputValue();
    assert.match(url, /\/s\/[A-Za-z0-9]{8,}$/);
    await dialog.locator('img.qr').waitFor();
    assert.match(await dialog.locator('img.qr').getAttribute('src'), /^data:image\/svg\+xml/);
    await shot(page, '07-share-dialog');
    await assertAppClean(page, log, 'share dialog');

    // a person's browser: HeadlessChrome is on the crawler list, and a
    // crawler at a link with max_visits gets a preview page instead
    const guest = await open({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' });
    try {
      const r = await guest.page.goto(url);
      assert.equal(r.status(), 401, 'the password form');
      await guest.page.locator('input[name=password]').fill('guest pass 1');
      await Promise.all([
        guest.page.waitForURL(/\/shared\//),
        guest.page.locator('form button[type=submit]').click(),
      ]);
      await guest.page.locator('h1', { hasText: 'Share me' }).waitFor();
      await shot(guest.page, '08-shared-task-page');
    } finally {
      await guest.context.close();
    }
  } finally {
    await context.close();
  }
});

test('timesheet: hours typed into the week grid, the 24-hour day refused, ' +
     'the week submitted; the manager rejects it with a reason, and the ' +
     'person sees why', { timeout: 90_000 }, async () => {
  const p = await project(`Time ${run}`, `TM${run}`.slice(0, 8));
  // last week, so that it is whole whatever today is
  const { context, page, log } = await open();
  try {
    await signIn(page, CARL);
    await page.goto(`${fx.base}/time`);
    await page.getByRole('button', { name: 'Previous week' }).click();
    const week = (await page.locator('.week-nav strong').innerText()).split(' ')[0];
    await page.getByLabel('Project of the new row').selectOption({ label: p.name });
    await page.getByRole('button', { name: 'Add row' }).click();
    const cells = page.locator('input.cell-in');
    for (const [i, h] of ['8', '7.5', '8', '6:30', '8'].entries()) {
      const saved = page.waitForResponse((r) => r.url().includes('/timesheets/entries') && r.request().method() === 'POST');
      await cells.nth(i).fill(h);
      await cells.nth(i).press('Enter');
      assert.equal((await saved).status(), 201, `day ${i + 1} stored`);
    }
    await page.locator('tfoot', { hasText: '38h' }).waitFor();

    // a 25-hour day: refused before it leaves the browser
    await cells.nth(0).fill('25');
    await cells.nth(0).press('Enter');
    await page.locator('.toast.error', { hasText: '24 hours' }).waitFor();
    await shot(page, '09-timesheet-grid');

    await page.getByRole('button', { name: /Submit week/ }).click();
    await page.getByText(/Submitted.*waiting for your manager/).waitFor();
    const sheet = await made(call((await apiLogin(CARL)).token, 'GET', `/api/v1/timesheets/weekly?week=${week}`), 'weekly');
    assert.equal(sheet.status, 'submitted');
    assert.equal(sheet.total_minutes, 38 * 60);

    // the manager (the admin here) rejects it with a reason
    const mgr = await open();
    try {
      await signIn(mgr.page, ADMIN);
      await mgr.page.goto(`${fx.base}/time/approvals`);
      const row = mgr.page.locator('tr', { hasText: week }).filter({ hasText: 'Carl' });
      await row.getByRole('button', { name: 'Reject' }).click();
      await mgr.page.getByLabel('Reason').fill('Thursday is missing the afternoon');
      await shot(mgr.page, '10-approvals-reject');
      await mgr.page.getByRole('button', { name: 'Reject week' }).click();
      await mgr.page.locator('.toast', { hasText: 'sent back' }).waitFor();
      await assertAppClean(mgr.page, mgr.log, 'approvals');
    } finally {
      await mgr.context.close();
    }

    await page.reload();
    await page.getByRole('button', { name: 'Previous week' }).click();
    await page.getByText('Thursday is missing the afternoon').waitFor();
    assert.ok(await page.getByRole('button', { name: /Submit again/ }).isVisible(), 'the week can be submitted again');
    await shot(page, '11-timesheet-rejected');
    await assertAppClean(page, log, 'timesheet');
  } finally {
    await context.close();
  }
});

test('portfolio: tiles, charts and every project with its progress', { timeout: 45_000 }, async () => {
  const projects = (await api('GET', '/api/v1/portfolio/overview')).projects;
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/portfolio`);
    await page.locator('.tile').first().waitFor();
    assert.equal(await page.locator('.tile b').first().innerText(), String(projects.length));
    assert.ok(await page.locator('figure.chart').count() >= 3, 'charts');
    // the progress bars: one row a project, its key and its progress
    const bars = page.locator('figure.bar-list', { hasText: 'Progress by project' }).locator('li');
    assert.equal(await bars.count(), projects.length, 'a progress bar a project');
    for (const p of projects) {
      const row = bars.filter({ has: page.locator('.bl-label', { hasText: new RegExp(`^${p.key}$`) }) });
      assert.equal(await row.locator('.bl-value').innerText(), `${p.progress}%`, `${p.key}'s progress`);
    }
    for (const p of projects) await page.locator('table.data a', { hasText: p.name }).first().waitFor();
    await shot(page, '12-portfolio');
    await assertAppClean(page, log, 'portfolio');
  } finally {
    await context.close();
  }
});

test('admin settings: usage against the plan\'s limits, as bars', { timeout: 60_000 }, async () => {
  const usage = await api('GET', '/api/v1/workspace/usage');
  assert.equal(usage.plan, 'team');
  assert.equal(usage.users.limit, 40);
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/admin/settings`);
    await page.getByRole('heading', { name: 'Plan and usage' }).waitFor();
    const people = page.getByRole('meter', { name: 'People (active)' });
    assert.equal(await people.getAttribute('aria-valuemax'), '40');
    assert.equal(await people.getAttribute('aria-valuenow'), String(usage.users.used));
    await page.getByText(`${usage.users.used} of 40`).waitFor();
    assert.equal(await page.getByRole('meter', { name: 'Stored files' }).getAttribute('aria-valuemax'), '50000000');
    await page.getByText('the installation\'s rate').waitFor();
    await page.getByRole('heading', { name: 'Plan and usage' }).scrollIntoViewIfNeeded();
    await shot(page, '24-admin-usage');
    await assertAppClean(page, log, 'usage');
  } finally {
    await context.close();
  }
});

test('admin settings: the workspace\'s full export asked for, its progress shown', { timeout: 60_000 }, async () => {
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/admin/settings`);
    const section = page.getByRole('region', { name: 'Export the workspace' });
    await section.getByRole('button', { name: 'Export everything' }).click();
    // kanbanctl's runner does it (t/workspace_export.t); here it waits
    await section.getByRole('progressbar', { name: 'Export progress' }).waitFor();
    await section.getByText(/queued|running/).waitFor();
    assert.ok(await section.getByRole('button', { name: 'Export everything' }).isDisabled(),
      'one export at a time');
    await section.scrollIntoViewIfNeeded();
    await shot(page, '24b-admin-export');
    await assertAppClean(page, log, 'export');
  } finally {
    await context.close();
  }
});

test('admin settings: the time zone picked from a searchable list and ' +
     'saved; due dates follow the workspace\'s today; a zone the server ' +
     'does not know is its 422', { timeout: 60_000 }, async () => {
  // a zone on another day than UTC's (the browser's) at this hour: UTC+14
  // from 10:00 UTC, UTC-11 before 11:00
  const ahead = new Date().getUTCHours() >= 10;
  const zone = ahead ? 'Pacific/Kiritimati' : 'Pacific/Pago_Pago';
  const dayIn = (tz) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  const p = await project(`Zone ${run}`, `ZN${run}`.slice(0, 8));
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/admin/settings`);
    await page.getByRole('heading', { name: 'Workspace settings' }).waitFor();
    await page.getByLabel('Search time zones').fill(ahead ? 'kiritim' : 'pago');
    await page.getByRole('listbox', { name: 'Time zone' }).selectOption(zone);
    await page.getByText(/now \w+/).first().waitFor();
    await shot(page, '21-admin-settings');
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/v1/workspace') && r.request().method() === 'PATCH');
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.equal((await saved).status(), 200);
    await page.locator('.toast', { hasText: 'Settings saved' }).waitFor();
    const ws = await api('GET', '/api/v1/workspace');
    assert.equal(ws.time_zone, zone, 'the server has the zone');

    // due today in the workspace's zone, whatever the browser's is
    // the browser's today (UTC) would call these the other way round
    const today = dayIn(zone), utc = dayIn('UTC');
    assert.notEqual(today, utc, 'the zone is on another day than UTC');
    await task(p, 'Due in the zone today', 'todo', { due_date: today });
    await task(p, 'Due on UTC today', 'todo', { due_date: utc });
    await page.goto(`${fx.base}/projects/${p.id}`);
    await card(page, 'Due in the zone today').locator('.due.today', { hasText: 'Today' }).waitFor();
    const other = card(page, 'Due on UTC today').locator('.due');
    await other.waitFor();
    assert.equal(await other.getAttribute('class'), ahead ? 'due overdue' : 'due', 'UTC\'s today is not the workspace\'s');
    await shot(page, '22-board-due-today-in-zone');
    await assertAppClean(page, log, 'settings');
  } finally {
    await context.close();
  }

  // a browser that cannot list zones gets a text field; the server's 422
  const t = await open();
  try {
    await t.context.addInitScript(() => { delete Intl.supportedValuesOf; });
    await signIn(t.page);
    await t.page.goto(`${fx.base}/admin/settings`);
    await t.page.getByLabel('Time zone').fill('Mars/Olympus_Mons');
    await t.page.getByRole('button', { name: 'Save settings' }).click();
    const alert = t.page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /time_zone/i, 'the 422 names the field');
    await shot(t.page, '23-admin-settings-422');
    await assertAppClean(t.page, t.log, 'settings 422', [/status of 422/]);
  } finally {
    await t.context.close();
    await api('PATCH', '/api/v1/workspace', { time_zone: 'UTC' });
  }
});

test('a board of 500 tasks: renders, filters and moves a card quickly', { timeout: 90_000 }, async () => {
  const key = `BIG${run}`.slice(0, 8);
  const rows = ['title,column,priority,labels'];
  const cols = ['Backlog', 'To Do', 'In Progress', 'Review', 'Done'];
  for (let i = 1; i <= 500; i++) rows.push(`Task number ${i},${cols[i % 5]},${['low', 'medium', 'high', 'urgent'][i % 4]},l${i % 7}`);
  const imported = await made(call(admin.token, 'POST', `/api/v1/projects/import?key=${key}&name=Big%20board%20${run}`,
    rows.join('\n') + '\n', { 'Content-Type': 'text/csv' }), 'import');
  assert.equal(imported.imported.tasks, 500);
  const pid = imported.project.id;
  const { context, page, log } = await open();
  try {
    await signIn(page);
    const t0 = Date.now();
    await page.goto(`${fx.base}/projects/${pid}`);
    await page.locator('[data-task-id]').nth(499).waitFor({ state: 'attached' });
    const render = Date.now() - t0;
    assert.equal(await page.locator('[data-task-id]').count(), 500);

    // typing into the filter: every keystroke re-filters 500 cards
    const f0 = Date.now();
    await page.getByLabel('Filter by text').pressSequentially('number 42', { delay: 0 });
    await page.locator('.filter-count', { hasText: /^\d+ of 500 cards$/ }).waitFor();
    const filter = Date.now() - f0;
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('.filter-count', { hasText: /^500 cards$/ }).waitFor();
    await page.waitForTimeout(500);          // the clear's own work done

    // a drag: from the press to the card shown in its new column, with
    // the main thread's long tasks (over 50 ms) meanwhile
    await page.evaluate(() => {
      window.__long = [];
      window.__t0 = performance.now();
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) if (e.startTime >= window.__t0) window.__long.push(Math.round(e.duration));
      }).observe({ type: 'longtask' });
    });
    const first = page.locator('section.cell').nth(0).locator('[data-task-id]').first();
    const title = (await first.locator('.card-title').innerText());
    const d0 = Date.now();
    await drag(page, first, page.locator('section.cell').nth(1));
    await page.locator('section.cell').nth(1).locator('[data-task-id]', { hasText: title }).first().waitFor();
    const dragMs = Date.now() - d0;
    await page.waitForTimeout(300);          // the drop's own re-render
    const longTasks = await page.evaluate(() => window.__long);
    const mounted = await page.locator('.card-wrap[aria-roledescription]').count();
    await shot(page, '13-board-500');
    console.log(`# 500 tasks: board shown in ${render} ms, filter typed in ${filter} ms, drag in ${dragMs} ms, long tasks ${JSON.stringify(longTasks)} (max ${Math.max(0, ...longTasks)} ms), ${mounted} cards mounted as sortables`);
    assert.ok(render < 8000, `the board renders in under 8 s (${render} ms)`);
    assert.ok(dragMs < 5000, `a drag completes in under 5 s (${dragMs} ms)`);
    // the cards out of reach are placeholders, still in order and counted
    assert.ok(mounted < 500, `not every card is a sortable (${mounted})`);
    await assertAppClean(page, log, 'big board');
  } finally {
    await context.close();
  }
});

test('two browsers: a drag in one moves the card in the other (the event ' +
     'stream)', { timeout: 60_000 }, async (t) => {
  const probe = await call(admin.token, 'GET', '/api/v1/events?project_id=00000000-0000-0000-0000-000000000000',
    undefined, { Accept: 'text/event-stream' }).catch(() => ({ status: 0 }));
  if (probe.status === 404 || probe.status === 405) {
    t.skip('GET /api/v1/events answers 404: the event stream (the events branch) is not on this server yet');
    return;
  }
  const p = await project(`Live ${run}`, `LV${run}`.slice(0, 8));
  await task(p, 'Watch me move', 'todo');
  const a = await open(), b = await open();
  try {
    await signIn(a.page);
    await signIn(b.page, CARL);
    await a.page.goto(`${fx.base}/projects/${p.id}`);
    await b.page.goto(`${fx.base}/projects/${p.id}`);
    await a.page.locator('.live-pill.s-live').waitFor();
    await b.page.locator('.live-pill.s-live').waitFor();
    await drag(a.page, card(a.page, 'Watch me move'), cell(a.page, p, 'review'));
    await cell(b.page, p, 'review').locator('[data-task-id]', { hasText: 'Watch me move' }).waitFor({ timeout: 5000 });
    await shot(b.page, '14-live-other-browser');

    // a comment written in A appears in B's open task panel, and its
    // @mention is in B's bell at once (notification.created)
    const bell = b.page.locator('.bell[data-loaded] .icon-btn');
    const unread = Number((await bell.getAttribute('aria-label')).match(/(\d+) unread/)[1]);
    await card(b.page, 'Watch me move').click();
    await b.page.getByLabel('Write a comment').waitFor();
    await card(a.page, 'Watch me move').click();
    const handle = CARL.split('@')[0];
    await a.page.getByLabel('Write a comment').fill(`Over to you, @${handle} — live`);
    await a.page.getByRole('button', { name: 'Comment', exact: true }).click();
    await b.page.locator('.comment-body', { hasText: 'Over to you' }).waitFor({ timeout: 5000 });
    await b.page.locator(`.bell .icon-btn[aria-label="Notifications, ${unread + 1} unread"]`).waitFor({ timeout: 5000 });
    // the author's name, though a contributor cannot list the people
    await b.page.locator('.comment', { hasText: 'Over to you' }).getByText(admin.user.name).first().waitFor();
    await shot(b.page, '14b-live-comment');
    await b.page.keyboard.press('Escape');
    await b.page.locator('.bell .icon-btn').click();
    await b.page.locator('.popover .notif', { hasText: 'mentioned you' }).first().waitFor();
    await shot(b.page, '14c-live-bell');
    await assertAppClean(a.page, a.log, 'live A');
    await assertAppClean(b.page, b.log, 'live B');
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('a phone: the navigation is a drawer, the board scrolls sideways, ' +
     'the task panel fills the screen', { timeout: 45_000 }, async () => {
  const p = await project(`Phone ${run}`, `PH${run}`.slice(0, 8));
  await task(p, 'Small screens too', 'todo');
  const { context, page, log } = await open({ viewport: { width: 390, height: 844 }, mobile: true });
  try {
    await signIn(page);
    await page.goto(`${fx.base}/projects/${p.id}`);
    await card(page, 'Small screens too').waitFor();
    assert.ok(!(await page.locator('.sidebar').isVisible()), 'the sidebar is out of the way');
    await shot(page, '15-phone-board');
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.waitForTimeout(300);
    await shot(page, '16-phone-menu');
    await page.getByRole('link', { name: 'Portfolio' }).click();
    await page.getByRole('heading', { name: 'Portfolio' }).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 400, `no page-wide sideways scroll on the portfolio (${width} px)`);
    await shot(page, '17-phone-portfolio');
    await assertAppClean(page, log, 'phone');
  } finally {
    await context.close();
  }
});

test('an invitation: the admin invites, the person sets a password and is ' +
     'in', { timeout: 45_000 }, async () => {
  const email = `invitee.${run.toLowerCase()}@example.com`;
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/admin/users`);
    await page.getByRole('button', { name: 'Invite someone' }).click();
    await page.getByLabel('Name').fill('Ines Invitee');
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    const url = await page.locator('.secret').innerText();
    assert.match(url, /\/accept-invite\?token=/);
    await shot(page, '18-admin-invite');
    await assertAppClean(page, log, 'admin');

    const guest = await open();
    try {
      await guest.page.goto(url);
      await guest.page.getByLabel('Choose a password').fill('a long new password 42');
      await guest.page.getByLabel('The same again').fill('a long new password 42');
      await guest.page.getByRole('button', { name: 'Join the workspace' }).click();
      await guest.page.getByRole('heading', { name: 'Projects' }).waitFor();
      assert.match(await guest.page.locator('.me-name').innerText(), /Ines Invitee/);
      await assertAppClean(guest.page, guest.log, 'invitation');
    } finally {
      await guest.context.close();
    }
  } finally {
    await context.close();
  }
});

test('the platform host: a new workspace signed up from the landing page', { timeout: 60_000 }, async () => {
  const slug = `ui-${run.toLowerCase()}-${Math.floor(Math.random() * 1e4)}`;
  const { context, page, log } = await open();
  try {
    await page.goto(`${platform}/`);
    await page.getByRole('heading', { name: 'Create a workspace' }).waitFor();
    await page.getByLabel('Workspace name').fill('Browser Test Co');
    await page.getByLabel('Address').fill(slug);
    await page.getByLabel('Your name').fill('Bea Founder');
    await page.getByLabel('Your email').fill(`bea@${slug}.example`);
    await page.getByLabel('Password').fill('founders keep keys 7');
    await shot(page, '19-landing');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    const go = page.getByRole('link', { name: new RegExp(`Open ${slug}\\.`) });
    await go.waitFor({ timeout: 30_000 });
    await go.click();
    await page.getByLabel('Email').fill(`bea@${slug}.example`);
    await page.getByLabel('Password').fill('founders keep keys 7');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No projects yet.').waitFor();
    await shot(page, '20-new-workspace-empty');
    // back on the platform host, its name leads to it
    await page.goto(`${platform}/`);
    await page.getByLabel('Workspace to open').fill(slug);
    await page.getByRole('button', { name: 'Go', exact: true }).click();
    await page.waitForURL(new RegExp(`^http://${slug}\\.`));
    await assertAppClean(page, log, 'sign-up');
  } finally {
    await context.close();
  }
});

// A receiver on loopback (t/browser.t lets its nginx send webhooks to
// private addresses): answers 200 and remembers what it got.
function receiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ url: `http://127.0.0.1:${server.address().port}/hook`, got, close: () => server.close() })));
}

test('admin → webhooks: made with its secret shown once, a test ping ' +
     'delivered and listed, edited, disabled, enabled, deleted', { timeout: 60_000 }, async () => {
  const rx = await receiver();
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/admin/webhooks`);
    await page.getByRole('button', { name: 'New webhook' }).waitFor();
    if (!(await api('GET', '/api/v1/webhooks')).items.length) {
      await page.getByText('No webhooks yet.').waitFor();
      await shot(page, '21-admin-webhooks-empty');
    }

    // a URL the server refuses: its problem is shown in the form
    await page.getByRole('button', { name: 'New webhook' }).click();
    const dialog = page.getByRole('dialog', { name: 'New webhook' });
    await dialog.getByLabel('URL').fill('ftp://files.example.com/hook');
    await dialog.getByRole('button', { name: 'Create webhook' }).click();
    await dialog.getByRole('alert').waitFor();
    assert.match(await dialog.getByRole('alert').innerText(), /url/i, 'the 422 names the URL');

    await dialog.getByLabel('URL').fill(rx.url);
    await dialog.getByLabel('Comment created').check();
    await shot(page, '22-admin-webhook-form');
    const [made] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/webhooks') && r.request().method() === 'POST'),
      dialog.getByRole('button', { name: 'Create webhook' }).click(),
    ]);
    assert.equal(made.status(), 201);
    const hook = await made.json();
    assert.deepEqual([...hook.events].sort(), ['comment.created', 'task.created', 'task.moved']);
    const secret = page.getByTestId('webhook-secret');
    assert.equal(await secret.innerText(), hook.secret, 'the secret, shown once');
    assert.match(hook.secret, /^whsec_/);

    // send test: the receiver gets a signed ping; the deliveries say so
    const row = page.locator(`[data-webhook-id="${hook.id}"]`);
    await row.getByRole('button', { name: 'Send test' }).click();
    const deadline = Date.now() + 15_000;
    while (!rx.got.some((g) => g.headers['x-kanban-event'] === 'ping') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const pinged = rx.got.find((g) => g.headers['x-kanban-event'] === 'ping');
    assert.ok(pinged, 'the receiver got the ping');
    assert.match(pinged.headers['x-kanban-signature'], /^sha256=[0-9a-f]{64}$/);
    const deliveries = row.getByRole('region', { name: `Deliveries to ${rx.url}` });
    for (let i = 0; i < 20; i++) {
      await deliveries.getByRole('button', { name: 'Refresh' }).click();
      if (await deliveries.locator('tr[data-delivery-status="delivered"]').count()) break;
      await page.waitForTimeout(500);
    }
    const delivered = deliveries.locator('tr[data-delivery-status="delivered"]', { hasText: 'ping' });
    await delivered.waitFor();
    assert.match(await delivered.innerText(), /200/, 'the answer\'s code');
    assert.match(await delivered.innerText(), /\d+ ms/, 'the answer\'s time');
    await shot(page, '23-admin-webhook-deliveries');

    // edit: all events; then disabled and enabled again
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit webhook' });
    await edit.getByLabel('All events').check();
    const [patched] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/v1/webhooks/${hook.id}`) && r.request().method() === 'PATCH'),
      edit.getByRole('button', { name: 'Save' }).click(),
    ]);
    assert.equal(patched.status(), 200);
    await row.getByText('All events').waitFor();
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('Disabled', { exact: true }).waitFor();
    assert.equal((await api('GET', `/api/v1/webhooks/${hook.id}`)).enabled, false);
    await shot(page, '24-admin-webhook-disabled');
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByText('Enabled', { exact: true }).waitFor();
    assert.equal((await api('GET', `/api/v1/webhooks/${hook.id}`)).enabled, true);

    page.once('dialog', (d) => d.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await call(admin.token, 'GET', `/api/v1/webhooks/${hook.id}`)).status, 404);
    await assertAppClean(page, log, 'webhooks', [/status of 422/]);
  } finally {
    await context.close();
    rx.close();
  }
});

test('portfolio: the latest insights, a new analysis asked for with its ' +
     'progress, its risks with their evidence', { timeout: 60_000 }, async () => {
  const p = await project(`Risky ${run}`, `RK${run}`.slice(0, 8));
  for (const n of [1, 2, 3]) {
    const t = await task(p, `Blocked thing ${n}`, 'in_progress');
    await api('PATCH', `/api/v1/tasks/${t.id}`, { blocked: true, blocked_reason: `waiting for vendor ${n}` });
  }
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/portfolio`);
    const box = page.getByRole('region', { name: 'Insights' });
    const before = await call(admin.token, 'GET', '/api/v1/insights/portfolio/summary');
    if (before.status === 404) await box.getByText('No analysis yet.').waitFor();
    const [asked] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/insights/analyze') && r.request().method() === 'POST'),
      box.getByRole('button', { name: /Analyse the portfolio|Ask for a new analysis/ }).click(),
    ]);
    assert.equal(asked.status(), 202);
    const { id } = await asked.json();
    await box.locator(`.insight[data-insight-id="${id}"]`).waitFor({ timeout: 15_000 });
    const latest = await api('GET', '/api/v1/insights/portfolio/summary');
    assert.equal(latest.id, id, 'the API\'s latest is the one shown');
    assert.equal(await box.locator('.insight-summary').innerText(), latest.result.summary);
    // the blocked tasks' rule, opened: its tasks and their reasons
    const risk = box.locator('.risk', { hasText: p.name }).filter({ hasText: 'Blocked tasks' });
    await risk.locator('summary').click();
    await risk.getByText('waiting for vendor 2').waitFor();
    await risk.getByRole('link', { name: /Blocked thing 3/ }).waitFor();
    await risk.scrollIntoViewIfNeeded();
    await shot(page, '25-portfolio-insights');

    // a reload shows the latest at once, without asking again
    await page.reload();
    await box.locator(`.insight[data-insight-id="${id}"]`).waitFor();
    await assertAppClean(page, log, 'insights');
  } finally {
    await context.close();
  }
});

test('notifications: the page updates live, marking one read or all read ' +
     'keeps the bell\'s count with it and the API\'s', { timeout: 60_000 }, async (t) => {
  const probe = await call(admin.token, 'GET', '/api/v1/events?project_id=00000000-0000-0000-0000-000000000000',
    undefined, { Accept: 'text/event-stream' }).catch(() => ({ status: 0 }));
  if (probe.status === 404 || probe.status === 405) { t.skip('no event stream on this server'); return; }
  const carl = await apiLogin(CARL);
  const unreadOf = async () => (await made(call(carl.token, 'GET', '/api/v1/notifications?limit=1'), 'carl notifications')).unread_count;
  const p = await project(`Notes ${run}`, `NT${run}`.slice(0, 8));
  const tk = await task(p, 'Talk about me', 'todo');
  const handle = CARL.split('@')[0];
  const { context, page, log } = await open();
  try {
    await signIn(page, CARL);
    await page.goto(`${fx.base}/notifications`);
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    await page.locator('.bell[data-loaded]').waitFor();
    await page.locator('.unread-count', { hasText: /\d+ unread/ }).waitFor();
    const bell = page.locator('.bell .icon-btn');
    const before = await unreadOf();
    await page.locator(`.bell .icon-btn[aria-label="Notifications, ${before} unread"]`).waitFor();
    await page.waitForTimeout(500);          // the stream is open

    // two mentions by the admin arrive at the top, live, and count
    await api('POST', `/api/v1/tasks/${tk.id}/comments`, { body: `First ping, @${handle}` });
    await api('POST', `/api/v1/tasks/${tk.id}/comments`, { body: `Second ping, @${handle}` });
    const list = page.getByRole('list', { name: 'Notifications' });
    await list.locator('.notif.unread', { hasText: 'Second ping' }).waitFor({ timeout: 8000 });
    await list.locator('.notif.unread', { hasText: 'First ping' }).waitFor();
    assert.match(await list.locator('.notif').first().innerText(), /Second ping/, 'the newest first');
    await page.locator(`.bell .icon-btn[aria-label="Notifications, ${before + 2} unread"]`).waitFor();
    await page.locator('.unread-count', { hasText: `${before + 2} unread` }).waitFor();
    await shot(page, '26-notifications-live');

    // one marked read: the bell and the API say one fewer
    const first = list.locator('.notif', { hasText: 'First ping' });
    const [r] = await Promise.all([
      page.waitForResponse((x) => /\/api\/v1\/notifications\/[^/]+\/read$/.test(x.url())),
      first.getByRole('button', { name: /^Mark read/ }).click(),
    ]);
    assert.equal(r.status(), 200);
    await list.locator('.notif:not(.unread)', { hasText: 'First ping' }).waitFor();
    await page.locator(`.bell .icon-btn[aria-label="Notifications, ${before + 1} unread"]`).waitFor();
    assert.equal(await unreadOf(), before + 1, 'the API counts one fewer');

    // all read, from the page: the bell shows none
    await page.getByRole('button', { name: 'Mark all read' }).click();
    await page.locator('.bell .icon-btn[aria-label="Notifications, 0 unread"]').waitFor();
    await page.locator('.unread-count', { hasText: '0 unread' }).waitFor();
    assert.equal(await unreadOf(), 0);
    assert.equal(await list.locator('.notif.unread').count(), 0);
    await bell.click();
    await page.locator('.popover .notif', { hasText: 'Second ping' }).waitFor();
    await shot(page, '27-notifications-bell-read');
    await assertAppClean(page, log, 'notifications');
  } finally {
    await context.close();
  }
});

// Every screen at a desktop's width and at a phone's (375 px): each shown
// with nothing left loading, no sideways scroll of the page on the phone,
// and a screenshot of each for a reviewer (tour-<screen>-<width>.png).
test('profile → sessions: this browser marked, another sign-in ended, ' +
     'then signed out everywhere', { timeout: 60_000 }, async () => {
  const email = `sid.${run.toLowerCase()}@example.com`;
  await api('POST', '/api/v1/users', { email, name: 'Sid Sessions', password: PASSWORD });
  const cli = await made(call(null, 'POST', '/api/v1/auth/login', { email, password: PASSWORD },
    { 'User-Agent': 'kanban-cli/1.0' }), 'the CLI signs in');
  const { context, page, log } = await open();
  page.on('dialog', (d) => { void d.accept(); });
  try {
    await signIn(page, email);
    await page.getByRole('link', { name: 'Sid Sessions' }).click();
    await page.getByRole('heading', { name: 'Your profile' }).waitFor();
    const block = page.locator('section.sessions');
    await block.getByRole('heading', { name: 'Sessions' }).waitFor();
    const rows = block.locator('li.session');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2, 'two sign-ins listed');
    const mine = rows.filter({ hasText: 'This browser' });
    assert.equal(await mine.count(), 1, 'this browser marked');
    assert.match(await mine.innerText(), /HeadlessChrome|Chrome/, '... with its user agent');
    assert.match(await rows.filter({ hasText: 'kanban-cli/1.0' }).innerText(), /127\.0\.0\.1/,
                 'the other with its user agent and address');
    await shot(page, 'profile-sessions');

    await block.getByRole('button', { name: 'Sign out kanban-cli/1.0' }).click();
    await rows.filter({ hasText: 'kanban-cli/1.0' }).waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1, 'one session left');
    const gone = await call(null, 'POST', '/api/v1/auth/refresh', { refresh_token: cli.refresh_token });
    assert.equal(gone.status, 401, "the CLI's refresh token is refused");

    await block.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const left = await made(call(cli.access_token, 'GET', '/api/v1/auth/sessions'), 'sessions');
    assert.deepEqual(left.items, [], 'no session of Sid is left');
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await assertAppClean(page, log, 'sessions', [/status of 401/]);
  } finally {
    await context.close();
  }
});

test('admin → AI: the installation\'s default, then Anthropic with a key ' +
     'that is never shown, a budget, the usage as a chart and a table', { timeout: 60_000 }, async () => {
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.goto(`${fx.base}/admin/ai`);
    const form = page.getByRole('form', { name: 'AI settings' });
    await form.getByLabel('Provider').waitFor();
    assert.equal(await form.getByLabel('Provider').inputValue(), 'default', 'the installation\'s default at first');
    const usage = page.getByRole('region', { name: 'AI usage' });
    await usage.locator('figure.chart').waitFor();
    assert.ok(await usage.locator('table.data tbody tr').count() >= 4, 'a row per day, feature and person');
    await shot(page, '25-admin-ai-default');

    // Anthropic, with a key and a budget
    await form.getByLabel('Provider').selectOption('anthropic');
    await form.getByRole('textbox', { name: /^Model/ }).fill('claude-sonnet-4-5');
    await form.getByLabel('API key').fill('sk-ant-browser-0123456789');
    await form.getByLabel('Monthly token budget').fill('50000');
    await form.getByLabel('Agents').uncheck();
    const [saved] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/ai/settings') && r.request().method() === 'PUT'),
      form.getByRole('button', { name: 'Save' }).click(),
    ]);
    assert.equal(saved.status(), 200);
    const body = await saved.text();
    assert.doesNotMatch(body, /sk-ant/, 'the key is not answered');
    const now = await api('GET', '/api/v1/ai/settings');
    assert.equal(now.provider, 'anthropic');
    assert.equal(now.api_key_set, true);
    assert.equal(now.monthly_token_budget, 50000);
    assert.deepEqual(now.enabled_features, ['insights', 'updates']);
    await form.getByText('A key is set; it is never shown.').waitFor();
    assert.equal(await form.getByLabel('API key').inputValue(), '', 'the key field stays empty');
    await form.getByText(/12.240 used, 37.760 left/).waitFor();
    await shot(page, '26-admin-ai-anthropic');

    // back to the default, the key removed
    await form.getByLabel('Remove the key').check();
    await form.getByLabel('Provider').selectOption('default');
    const [again] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/ai/settings') && r.request().method() === 'PUT'),
      form.getByRole('button', { name: 'Save' }).click(),
    ]);
    assert.equal(again.status(), 200);
    const back = await api('GET', '/api/v1/ai/settings');
    assert.equal(back.provider, null);
    assert.equal(back.api_key_set, false);
    await assertAppClean(page, log, 'admin AI');
  } finally {
    await context.close();
  }
});

test('share links: made in bulk with a bad row named, filtered by tag, ' +
     'one changed, its visits downloaded, revoked', { timeout: 60_000 }, async () => {
  const tag = `spring${run}`.toLowerCase();
  const { context, page, log } = await open();
  try {
    await signIn(page);
    await page.getByRole('link', { name: 'Share links' }).click();
    await page.getByRole('heading', { name: 'Share links' }).waitFor();

    await page.getByRole('button', { name: 'New links in bulk' }).click();
    const dialog = page.getByRole('dialog', { name: 'New links in bulk' });
    await dialog.getByLabel(/^Links/).fill(`https://example.com/offer-${run}\nnot a link\nhttps://example.com/docs-${run}`);
    await dialog.getByLabel('Tags for all').fill(`${tag}, promo`);
    await dialog.getByLabel('Folder for all').fill('campaigns');
    await shot(page, 'links-bulk');
    await page.getByRole('button', { name: 'Make links' }).click();
    const summary = page.locator('.bulk-summary');
    await summary.waitFor();
    assert.match(await summary.textContent(), /^2 made, 1 not made\.$/, 'two made, the bad row counted');
    const rows = page.getByRole('table', { name: 'Each row\'s result' }).locator('tbody tr');
    assert.equal(await rows.count(), 3, 'every row has its result');
    assert.match(await rows.nth(1).textContent(), /^2.*url/i, 'row 2 says what is wrong with its url');
    await page.getByRole('button', { name: 'Done' }).click();

    // the new tag is a filter; the list asks the server for it
    await page.getByLabel('Tag').selectOption(tag);
    const list = page.getByRole('table', { name: 'Share links' }).locator('tbody tr');
    await page.locator('.links-count', { hasText: /^2 links$/ }).waitFor();
    assert.equal(await list.count(), 2);
    assert.match(await list.first().textContent(), /campaigns\//, 'the folder shown');

    // one link: its QR code, a new tag and expiry saved
    await list.first().getByRole('button').click();
    const detail = page.locator('.links-detail');
    await detail.getByRole('img', { name: /QR code/ }).waitFor();
    await detail.getByLabel('Tags').fill(`${tag}, summer`);
    await detail.getByLabel('Expires').selectOption('86400');
    await detail.getByRole('button', { name: 'Save' }).click();
    await page.locator('.toast', { hasText: 'Link saved' }).waitFor();
    await list.first().locator('.tag', { hasText: 'summer' }).waitFor();
    const tomorrow = new Date(Date.now() + 86_400_000).toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
    assert.match(await list.first().textContent(), new RegExp(tomorrow), 'expires tomorrow');
    await shot(page, 'links');

    const [file] = await Promise.all([
      page.waitForEvent('download'),
      detail.getByRole('button', { name: 'Download visits (CSV)' }).click(),
    ]);
    assert.match(file.suggestedFilename(), /^visits-[0-9A-Za-z]{10}\.csv$/);

    // revoked: gone from the live links, there under Revoked
    page.once('dialog', (d) => d.accept());
    await detail.getByRole('button', { name: 'Revoke link' }).click();
    await detail.getByText(/no longer opens/).waitFor();
    await page.locator('.links-count', { hasText: /^1 link$/ }).waitFor();
    await page.getByRole('radio', { name: 'Revoked' }).click();
    await page.locator('.links-count', { hasText: /^1 link$/ }).waitFor();
    assert.match(await list.first().textContent(), /revoked/);
    await assertAppClean(page, log, 'share links');
  } finally {
    await context.close();
  }
});

test('every screen, desktop and phone (375 px): shown, no page-wide ' +
     'sideways scroll on the phone, a screenshot of each', { timeout: 110_000 }, async () => {
  const p = await project(`Tour ${run}`, `TR${run}`.slice(0, 8));
  const first = await task(p, 'Look at every screen', 'in_progress', { priority: 'high', labels: ['ui'], due_date: '2030-01-15', start_date: '2029-12-20' });
  await task(p, 'Then at the phone', 'todo', { due_date: '2030-01-20', start_date: '2030-01-02' });
  await api('POST', `/api/v1/projects/${p.id}/milestones`, { name: 'Beta', due_date: '2030-01-31' });
  const screens = [
    ['projects', '/projects'], ['board', `/projects/${p.id}`], ['panel', `/tasks/${first.id}`],
    ['timeline', `/projects/${p.id}/timeline`], ['sprints', `/projects/${p.id}/sprints`],
    ['portfolio', '/portfolio'], ['time', '/time'], ['approvals', '/time/approvals'],
    ['reports', '/time/reports'], ['search', '/search?q=screen'], ['notifications', '/notifications'], ['links', '/links'],
    ['admin-users', '/admin/users'], ['admin-teams', '/admin/teams'], ['admin-skills', '/admin/skills'],
    ['admin-tokens', '/admin/tokens'], ['admin-webhooks', '/admin/webhooks'], ['admin-ai', '/admin/ai'],
    ['admin-settings', '/admin/settings'],
    ['profile', '/profile'],
  ];
  for (const [width, opts] of [[1400, {}], [375, { viewport: { width: 375, height: 812 }, mobile: true }]]) {
    const { context, page, log } = await open(opts);
    try {
      if (width === 375) {
        await page.goto(`${fx.base}/`);
        await page.getByLabel('Email').waitFor();
        await shot(page, 'tour-signin-375');
      }
      await signIn(page);
      const wide = [], stuck = [];
      for (const [name, path] of screens) {
        await page.goto(`${fx.base}${path}`);
        const shown = await page.waitForFunction(() => document.querySelector('main h1, main h2, main .panel-head')
          && !document.querySelector('.loading'), null, { timeout: 10_000 }).then(() => true, () => false);
        if (!shown) {
          stuck.push(`${name}: ${await page.evaluate(() => [...document.querySelectorAll('.loading')]
            .map((e) => e.closest('section, aside, div.box')?.querySelector('h2, h3')?.textContent || e.textContent).join(', '))}`);
        }
        await page.waitForTimeout(150);
        if (width === 375) {
          const w = await page.evaluate(() => document.documentElement.scrollWidth);
          if (w > 380) wide.push(`${name} ${w}px`);
        }
        await shot(page, `tour-${name}-${width}`);
      }
      assert.deepEqual(stuck, [], 'every screen done loading');
      assert.deepEqual(wide, [], 'no screen scrolls the whole page sideways on a phone');
      await assertAppClean(page, log, `tour at ${width}`);
    } finally {
      await context.close();
    }
  }
});
