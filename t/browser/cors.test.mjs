// CORS in a real browser: a page of another origin calls a workspace's
// API with a bearer token. The origin is one the workspace lists
// (t/browser.t sets cors_origins); an origin it does not list is refused
// by the browser itself, and so is a call that asks for credentials
// (cookies never cross origins). The pages of the two origins are served
// by playwright (route.fulfill): nginx serves only the workspace.
//
// The fixture (KANBAN_BROWSER_FIXTURE, see t/browser.t) carries
//   "cors": { "listed": origin, "unlisted": origin, "token", "task" }

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, launch, open } from './lib.mjs';

const STEP = 10_000;

let browser;

before(async () => {
  // the pages of other origins come from playwright, which Chromium
  // takes for the public internet: calls from there to a loopback
  // address need a permission (Local Network Access) that a real
  // deployment, public on both sides, never asks for
  browser = await launch([
    '--disable-features=LocalNetworkAccessChecks,' +
      'BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessChecks',
  ]);
});

after(async () => {
  await browser?.close();
});


// A page of that origin: an empty document of its own, no CSP.
async function pageOf(origin) {
  const { context, page } = await open(browser, { step: STEP, viewport: { width: 1280, height: 720 } });
  await context.route(`${origin}/**`, (route) => route.fulfill({
    status: 200, contentType: 'text/html',
    body: '<!doctype html><meta charset="utf-8"><title>elsewhere</title>',
  }));
  page.console = [];
  page.on('console', (m) => page.console.push(m.text()));
  await page.goto(`${origin}/app.html`);
  return { context, page };
}


// fetch from the page: what the page's script can see of the answer
function call(page, path, init) {
  return page.evaluate(async ({ url, init }) => {
    try {
      const r = await fetch(url, init);
      return { status: r.status, etag: r.headers.get('ETag'),
               body: await r.json() };
    } catch (e) {
      return { error: String(e) };
    }
  }, { url: `${fx.base}${path}`, init });
}


test('a listed origin calls the API with a token: reads, a preflighted ' +
     'PATCH, its ETag', { timeout: 30_000 }, async () => {
  const { context, page } = await pageOf(fx.cors.listed);
  const auth = { Authorization: `Bearer ${fx.cors.token}` };

  try {
    let r = await call(page, '/api/v1/projects', { headers: auth });
    assert.equal(r.error, undefined, `the call went through: ${r.error} `
                 + page.console.join('\n'));
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body.items), 'the projects, readable');

    r = await call(page, `/api/v1/tasks/${fx.cors.task}`, { headers: auth });
    assert.equal(r.status, 200);
    assert.ok(r.etag, 'the ETag is exposed to the page');

    r = await call(page, `/api/v1/tasks/${fx.cors.task}`, {
      method: 'PATCH',
      headers: { ...auth, 'Content-Type': 'application/json',
                 'If-Match': r.etag },
      body: JSON.stringify({ priority: 'high' }),
    });
    assert.equal(r.error, undefined, `the PATCH went through: ${r.error}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.priority, 'high', 'the change is made');

    r = await call(page, '/api/v1/projects', {});
    assert.equal(r.status, 401, 'without a token: a 401 the page can read');
    assert.equal(r.body.code, 'unauthorized');
  } finally {
    await context.close();
  }
});


test('credentials never cross: a call with credentials: "include" is ' +
     'refused by the browser', { timeout: 30_000 }, async () => {
  const { context, page } = await pageOf(fx.cors.listed);

  try {
    const r = await call(page, '/api/v1/projects', {
      credentials: 'include',
      headers: { Authorization: `Bearer ${fx.cors.token}` },
    });
    assert.match(r.error ?? '', /TypeError/, 'fetch fails');
  } finally {
    await context.close();
  }
});


test('an origin the workspace does not list cannot read the API',
     { timeout: 30_000 }, async () => {
  const { context, page } = await pageOf(fx.cors.unlisted);

  try {
    let r = await call(page, '/api/v1/projects', {
      headers: { Authorization: `Bearer ${fx.cors.token}` },
    });
    assert.match(r.error ?? '', /TypeError/, 'a preflighted call fails');

    r = await call(page, '/api/v1/workspace', {});
    assert.match(r.error ?? '', /TypeError/,
                 'a simple GET is sent, but its answer is kept from the page');
  } finally {
    await context.close();
  }
});
