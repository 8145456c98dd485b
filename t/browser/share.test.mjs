// The share-link pages in a real browser: Debian's Chromium, headless,
// driven by playwright-core against the nginx that t/browser.t started.
//
// t/browser.t makes the workspace, the tasks and the links through the API
// and hands them over in a JSON file named by KANBAN_BROWSER_FIXTURE:
//
//   { "base": "http://<slug>.localhost:<port>",
//     "chromium": "/usr/bin/chromium",
//     "emails": [every address of the workspace's people],
//     "task": { "code", "password", "title", "key", "column", "category",
//               "project", "assignees": [name] },
//     "project": { "code", "name", "columns": [{ "name", "tasks": [title] }] },
//     "revoked": { "code" } }
//
// Each scenario gets a context of its own (no cookies carried over) and
// fails on any console error, uncaught exception or CSP violation of the
// pages it opens, but for the one line Chromium logs for a document that
// is itself a 4xx (the password form is a 401, "Link expired" a 410).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, launch, open as openPage } from './lib.mjs';

const STEP = 10_000;        // one navigation or wait, at most

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});


// A page in a new context (playwright's default window), with everything
// it says recorded.
const open = () => openPage(browser, { step: STEP, viewport: { width: 1280, height: 720 } });


// No uncaught exceptions, no CSP violations, no console errors but a 4xx
// document's own "Failed to load resource" line.
async function assertClean(page, log, what) {
  assert.deepEqual(log.errors, [], `${what}: uncaught exceptions`);

  const csp = log.console.filter((m) => /Content Security Policy/i.test(m.text));
  assert.deepEqual(csp, [], `${what}: CSP violations in the console`);
  assert.deepEqual(await page.evaluate(() => window.__csp), [],
                   `${what}: securitypolicyviolation events`);

  const errors = log.console.filter((m) =>
    m.type === 'error' &&
    !(/^Failed to load resource: the server responded with a status of 4\d\d/
        .test(m.text) && /\/s\/[A-Za-z0-9]+$/.test(m.url)));
  assert.deepEqual(errors, [], `${what}: console errors`);
}


// The CSP nginx sends on the document: the test is worth something only
// if shared.js ran under it.
function assertCsp(response, what) {
  const csp = response.headers()['content-security-policy'];
  assert.ok(csp, `${what}: nginx sends a Content-Security-Policy`);
  assert.match(csp, /script-src 'self'/, `${what}: scripts from 'self' only`);
}


test('a password-protected task link: the form, a wrong password, the ' +
     'right one, the task', { timeout: 30_000 }, async () => {
  const { context, page, log } = await open();
  const t = fx.task;

  try {
    let r = await page.goto(`${fx.base}/s/${t.code}`);
    assert.equal(r.status(), 401, 'the short link asks for the password');
    assert.equal(r.headers()['cache-control'], 'private, no-store');
    assertCsp(r, 'the password form');
    assert.equal(await page.locator('h1').innerText(), 'Password required');
    const field = page.locator('form input[name=password][type=password]');
    assert.equal(await field.count(), 1, 'a password field');
    assert.equal(await page.locator('.error').count(), 0,
                 'no complaint before the first try');

    // a wrong password: the same form again, saying so
    await field.fill('not the password');
    [r] = await Promise.all([
      page.waitForNavigation(),
      page.locator('form button[type=submit]').click(),
    ]);
    assert.equal(r.status(), 401, 'a wrong password: 401 again');
    assert.equal(r.request().method(), 'POST');
    assert.equal(new URL(page.url()).pathname, `/s/${t.code}`);
    assert.match(await page.locator('.error').innerText(),
                 /password is wrong/i, 'the page says the password is wrong');
    assert.equal(await field.count(), 1, '... and asks again');

    // the right one: POST 302 /s/{code}, GET 302 /shared/{code}, 200
    await field.fill(t.password);
    await Promise.all([
      page.waitForURL(`${fx.base}/shared/${t.code}`),
      page.locator('form button[type=submit]').click(),
    ]);

    const chain = log.responses
      .filter((x) => x.request().isNavigationRequest())
      .slice(-3)
      .map((x) => `${x.request().method()} ${new URL(x.url()).pathname} ` +
                  `${x.status()}`);
    assert.deepEqual(chain, [
      `POST /s/${t.code} 302`,
      `GET /s/${t.code} 302`,
      `GET /shared/${t.code} 200`,
    ], 'the browser follows the redirects to the shared page');
    assertCsp(log.responses.find((x) => x.request().isNavigationRequest() &&
                                 x.url().endsWith(`/shared/${t.code}`)),
              'the shared page');

    // shared.js has fetched the task and drawn it
    await page.locator('h1').filter({ hasText: t.title }).waitFor();
    assert.equal(await page.locator('h1').innerText(), t.title,
                 'the title, as text');
    assert.equal(await page.locator('main h1 *').count(), 0,
                 'markup in the title stays text');
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(`${t.project} · ${t.key}`),
              `the project and the key in: ${text}`);
    const status = page.locator('dt', { hasText: 'Status' })
      .locator('xpath=following-sibling::dd[1]');
    assert.equal(await status.innerText(), t.column,
                 'the column');
    assert.equal(await page.title(), `${t.title} · shared`);

    const body = await page.locator('body').innerText();
    for (const name of t.assignees) {
      assert.ok(body.includes(name), `the assignee ${name} by name`);
    }
    for (const email of fx.emails) {
      assert.ok(!body.includes(email), `no ${email} in the page`);
    }
    assert.doesNotMatch(body, /\S@\S+\.\S/, 'no email address in the page');
    assert.doesNotMatch(await page.content(), /@[a-z0-9-]+\.example/,
                        'nor in its markup');

    await assertClean(page, log, 'the task link');
  } finally {
    await context.close();
  }
});


test('a project link without password: the board', { timeout: 30_000 },
     async () => {
  const { context, page, log } = await open();
  const p = fx.project;

  try {
    const r = await page.goto(`${fx.base}/s/${p.code}`);
    assert.equal(new URL(page.url()).pathname, `/shared/${p.code}`,
                 'straight on to the shared page');
    assert.equal(r.status(), 200);
    assertCsp(r, 'the shared page');

    await page.locator('h1', { hasText: p.name }).waitFor();
    const columns = page.locator('section.column');
    assert.deepEqual(
      (await columns.locator('h2').allInnerTexts())
        .map((h) => h.replace(/ · \d+$/, '')),
      p.columns.map((c) => c.name), 'every column, in order');

    for (const [i, c] of p.columns.entries()) {
      const column = columns.nth(i);
      assert.equal(await column.locator('h2').innerText(),
                   `${c.name} · ${c.tasks.length}`, `${c.name}: its count`);
      const titles = await column.locator('.card > div:nth-child(2)')
        .allInnerTexts();
      assert.deepEqual(titles.sort(), [...c.tasks].sort(),
                       `${c.name}: its tasks`);
    }

    const body = await page.locator('body').innerText();
    assert.doesNotMatch(body, /\S@\S+\.\S/, 'no email address in the page');

    await assertClean(page, log, 'the project link');
  } finally {
    await context.close();
  }
});


test('a revoked link: "Link expired"', { timeout: 30_000 }, async () => {
  const { context, page, log } = await open();
  const code = fx.revoked.code;

  try {
    let r = await page.goto(`${fx.base}/s/${code}`);
    assert.equal(r.status(), 410, 'the short link: 410');
    assertCsp(r, 'the expired page');
    assert.equal(await page.locator('h1').innerText(), 'Link expired');
    assert.match(await page.locator('body').innerText(), /revoked/);
    assert.equal(await page.locator('form').count(), 0, 'no form');
    await assertClean(page, log, 'the revoked short link');

    // the shared page itself, reached some other way, says the same
    r = await page.goto(`${fx.base}/shared/${code}`);
    assert.equal(r.status(), 200);
    await page.locator('h1', { hasText: 'Link expired' }).waitFor();
    const apiErrors = log.console.filter((m) => m.type === 'error' &&
                                         !/\/s\//.test(m.url));
    // the API's 410 is a failed resource load in Chromium's console: the
    // one console error this page may have
    assert.ok(apiErrors.every((m) =>
                /status of 410/.test(m.text) &&
                m.url.includes(`/api/v1/shared/${code}`)),
              `only the API's 410: ${JSON.stringify(apiErrors)}`);
    assert.deepEqual(log.errors, [], 'no uncaught exceptions');
    assert.deepEqual(await page.evaluate(() => window.__csp), [],
                     'no CSP violations');
  } finally {
    await context.close();
  }
});


test('the shared page of a protected link, without the password: on to ' +
     'the form', { timeout: 30_000 }, async () => {
  const { context, page, log } = await open();
  const t = fx.task;

  try {
    await page.goto(`${fx.base}/shared/${t.code}`);
    await page.waitForURL(`${fx.base}/s/${t.code}`);
    assert.equal(await page.locator('h1').innerText(), 'Password required');
    assert.equal(await page.locator('form input[type=password]').count(), 1);
    assert.doesNotMatch(await page.locator('body').innerText(),
                        new RegExp(t.key), 'nothing of the task');

    // the API's 401 and the form's own 401 are the console errors here
    const errors = log.console.filter((m) => m.type === 'error' &&
      !(/status of 401/.test(m.text) &&
        (m.url.endsWith(`/api/v1/shared/${t.code}`) ||
         m.url.endsWith(`/s/${t.code}`))));
    assert.deepEqual(errors, [], 'no other console errors');
    assert.deepEqual(log.errors, [], 'no uncaught exceptions');
    assert.deepEqual(await page.evaluate(() => window.__csp), [],
                     'no CSP violations');
  } finally {
    await context.close();
  }
});
