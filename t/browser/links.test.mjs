// The links page's redirect rules and QR options in a real browser
// (issue 25): Debian's Chromium, headless, driven by playwright-core
// against the nginx that t/browser.t started, signed in as the admin of
// its workspace. A link made on the page, a language rule and a 50/50
// split added, reordered, a bad target refused by the server and shown at
// its input, fixed and applied; the redirect then follows the rules. The
// QR code's colours changed with a live preview, a pair scanners could
// not read explained, the SVG downloaded. Screenshots at 1280 and 375 px
// in t/browser/screenshots/ (KANBAN_SCREENSHOTS to change it).
//
// The setup below is app.test.mjs's (kept apart while those files are
// being reworked into one shared library).

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
const run = Date.now().toString(36).toUpperCase().slice(-4);

let browser;
let admin;          // { token, user }

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
  admin = await apiLogin(ADMIN);
});

after(async () => { await browser?.close(); });


// ---- the API, from node ----------------------------------------------

// node:http to 127.0.0.1 with the workspace's Host: node's resolver,
// unlike Chromium's, does not map *.localhost to loopback.
function call(token, method, path, body, headers = {}, base = fx.base) {
  const u = new URL(base + path);
  const h = { Accept: 'application/json', Host: u.host, ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let data = body;
  if (body !== undefined && typeof body !== 'string') {
    h['Content-Type'] = 'application/json';
    data = JSON.stringify(body);
  }
  if (data !== undefined) h['Content-Length'] = Buffer.byteLength(data);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method, headers: h }, (res) => {
      // an event stream never ends: its status is all we want
      if (/event-stream/.test(res.headers['content-type'] || '')) {
        res.destroy();
        resolve({ status: res.statusCode, json: null, text: '' });
        return;
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer`)));
    if (data !== undefined) req.write(data);
    req.end();
  });
}

async function made(p, what) {
  const r = await p;
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${r.text}`);
  return r.json;
}

async function apiLogin(email) {
  const s = await made(call(null, 'POST', '/api/v1/auth/login', { email, password: PASSWORD }), `login ${email}`);
  return { token: s.access_token, user: s.user };
}

const api = (method, path, body) => made(call(admin.token, method, path, body), `${method} ${path}`);

// ---- the browser ------------------------------------------------------

async function open(opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || { width: 1400, height: 900 },
    ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
    ...(opts.mobile ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
  context.setDefaultTimeout(STEP);
  context.setDefaultNavigationTimeout(STEP);
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  const log = { console: [], errors: [] };
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text(), url: m.location().url }));
  page.on('pageerror', (e) => log.errors.push(String(e)));
  return { context, page, log };
}

// The HTTP errors a page may log: the first silent refresh (401, nobody
// signed in yet), the event stream while the server has none (404), and
// whatever the flow provokes on purpose.
async function assertClean(page, log, what, allowed = []) {
  assert.deepEqual(log.errors, [], `${what}: uncaught exceptions`);
  assert.deepEqual(await page.evaluate(() => window.__csp).catch(() => []), [], `${what}: CSP violations`);
  const ok = [/status of 401 .*$/, /status of 404/, ...allowed];
  const errors = log.console.filter((m) => m.type === 'error' &&
    !(/^Failed to load resource/.test(m.text) && ok.some((re) => re.test(m.text))));
  assert.deepEqual(errors, [], `${what}: console errors`);
}

async function shot(page, name, fullPage = false) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

async function signIn(page, email = ADMIN, password = PASSWORD) {
  await page.goto(`${fx.base}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.topbar').waitFor();
}


// ---- the flow ---------------------------------------------------------

const WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

// where /s/{code} sends a visitor with this language
async function visit(code, language) {
  const r = await call(null, 'GET', `/s/${code}`, undefined, { 'Accept-Language': language, 'User-Agent': WINDOWS });
  assert.equal(r.status, 302, `/s/${code}: ${r.status} ${r.text}`);
  return r.headers.location;
}

// the Links page with one link's detail open, found by its tag
async function openLink(page, tag) {
  await page.goto(`${fx.base}/links`);
  await page.getByRole('heading', { name: 'Share links' }).waitFor();
  await page.getByLabel('Tag').selectOption(tag);
  await page.locator('.links-count', { hasText: /^1 link$/ }).waitFor();
  await page.getByRole('table', { name: 'Share links' }).locator('tbody tr').first().getByRole('button').click();
  return page.locator('.links-detail');
}

test('links: redirect rules added, reordered, a bad target shown at its ' +
     'input, applied; the QR code recoloured with a live preview, a pair ' +
     'scanners cannot read explained, the SVG downloaded', { timeout: 90_000 }, async () => {
  const tag = `rules${run}`.toLowerCase();
  const home = `https://example.com/launch-${run}`;
  const { context, page, log } = await open({ viewport: { width: 1280, height: 900 } });
  try {
    await signIn(page);
    await page.getByRole('link', { name: 'Share links' }).click();
    await page.getByRole('heading', { name: 'Share links' }).waitFor();

    // a link made on the page
    await page.getByRole('button', { name: 'New links in bulk' }).click();
    const dialog = page.getByRole('dialog', { name: 'New links in bulk' });
    await dialog.getByLabel(/^Links/).fill(home);
    await dialog.getByLabel('Tags for all').fill(tag);
    await dialog.getByRole('button', { name: 'Make links' }).click();
    await page.locator('.bulk-summary', { hasText: /^1 made\.$/ }).waitFor();
    await dialog.getByRole('button', { name: 'Done' }).click();

    const detail = await openLink(page, tag);
    const code = (await detail.getByRole('heading').first().innerText()).replace(/^Link /, '');
    await detail.getByRole('tab', { name: /^Rules/ }).click();
    const form = detail.getByRole('form', { name: 'Redirect rules' });
    await form.getByText(`Otherwise → ${home}`).waitFor();

    // a 50/50 split, then a language rule
    await form.getByRole('button', { name: '+ Split' }).click();
    assert.equal(await form.getByLabel('Rule 1 target 1', { exact: true }).inputValue(), home,
      'the split\'s first target starts as the link\'s own URL');
    await form.getByLabel('Rule 1 target 2', { exact: true }).fill('ftp://example.com/b');
    assert.equal(await form.getByLabel('Rule 1 target 1 share').innerText(), '50 %');
    await form.getByLabel('Rule 1 target 2 weight').fill('150');
    assert.equal(await form.getByLabel('Rule 1 target 1 share').innerText(), '25 %', 'the shares follow the weights');
    await form.getByLabel('Rule 1 target 2 weight').fill('50');
    assert.equal(await form.getByLabel('Rule 1 target 2 share').innerText(), '50 %');

    await form.getByRole('button', { name: '+ Language' }).click();
    await form.getByLabel('Rule 2 languages').fill('de, de-AT');
    await form.getByLabel('Rule 2 goes to').fill(`https://example.com/de-${run}`);

    // reordered: the language first (a split always matches, so nothing
    // after it would ever be tried)
    await form.getByRole('button', { name: 'Move rule 2 up' }).click();
    const rules = form.locator('.lr-list > li');
    assert.equal(await rules.nth(0).getAttribute('aria-label'), 'Rule 1: Language');
    assert.equal(await rules.nth(1).getAttribute('aria-label'), 'Rule 2: Split');
    assert.equal(await form.getByLabel('Rule 1 languages').inputValue(), 'de, de-AT', 'the inputs moved with their rule');
    await form.getByLabel('utm_source').fill('newsletter');
    await form.locator('.lr-example', { hasText: `${home}?utm_source=newsletter` }).waitFor();

    // the server refuses the ftp target: shown at that input, nothing lost
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/rules') && r.request().method() === 'PUT'),
      form.getByRole('button', { name: 'Apply rules' }).click(),
    ]);
    assert.equal(refused.status(), 422);
    const bad = form.getByLabel('Rule 2 target 2', { exact: true });
    assert.equal(await bad.getAttribute('aria-invalid'), 'true', 'the bad target is marked');
    const said = rules.nth(1).locator('.lr-target').nth(1).locator('.field-error');
    assert.match(await said.innerText(), /^Must be an http or https URL/, 'the server\'s reason, under that target');
    assert.equal(await form.locator('.field-error').count(), 1, 'and nowhere else');
    assert.equal(await bad.inputValue(), 'ftp://example.com/b', 'what was typed is kept');
    assert.equal(await form.getByLabel('Rule 1 languages').inputValue(), 'de, de-AT');
    assert.equal(await form.getByLabel('utm_source').inputValue(), 'newsletter');
    await shot(page, 'links-rules-refused');

    // fixed and applied
    await bad.fill(`https://example.com/b-${run}`);
    await form.getByRole('button', { name: 'Apply rules' }).click();
    await page.locator('.toast', { hasText: 'Rules saved' }).waitFor();
    await detail.getByRole('tab', { name: 'Rules · 2' }).waitFor();
    const links = await api('GET', `/api/v1/share-links?tag=${tag}`);
    const saved = links.items[0];
    assert.deepEqual(saved.rules, [
      { match: 'language', values: ['de', 'de-AT'], url: `https://example.com/de-${run}` },
      { match: 'split', targets: [{ url: home, weight: 50 }, { url: `https://example.com/b-${run}`, weight: 50 }] },
    ], 'the server has the rules in the order shown');
    assert.deepEqual(saved.utm, { source: 'newsletter' });
    assert.equal(await visit(code, 'de-AT, en;q=0.5'), `https://example.com/de-${run}?utm_source=newsletter`,
      'a German-speaking visitor follows the first rule');
    assert.match(await visit(code, 'fr'), new RegExp(`^(${home}|https://example.com/b-${run})\\?utm_source=newsletter$`),
      'anyone else one of the split\'s targets');
    await shot(page, 'links-rules');

    // the overview counts the visits by rule (stored within a second)
    const byRule = detail.getByRole('list', { name: 'Where the rules sent people' });
    for (let i = 0; i < 20 && !(await byRule.count()); i++) {
      await detail.getByRole('tab', { name: 'Overview' }).click();
      await detail.locator('.kpis').waitFor();
      await page.waitForTimeout(500);
      if (!(await byRule.count())) await detail.getByRole('tab', { name: /^Rules/ }).click();
    }
    assert.match(await byRule.innerText(), new RegExp(`Rule 1 · /de-${run}\\s+1`), 'the German visit under rule 1');
    await shot(page, 'links-overview');

    // the QR code: a live preview of the options
    await detail.getByRole('tab', { name: 'QR code' }).click();
    const preview = detail.getByRole('img', { name: /^QR code preview/ });
    await preview.waitFor();
    await detail.getByLabel('Foreground hex').fill('#eeeeee');
    const why = detail.locator('.qr-refused');
    await why.waitFor();
    assert.match(await why.innerText(), /Scanners could not read this code/);
    assert.equal(await detail.locator('.qr-preview img').count(), 0, 'no broken image in its place');
    await detail.getByLabel('Foreground hex').fill('#1d4ed8');
    await detail.getByLabel('Background colour').fill('#fef3c7');
    await detail.getByLabel('QR size').selectOption('512');
    await detail.getByRole('radio', { name: 'H' }).click();
    await detail.getByRole('img', { name: /512 px, H correction/ }).waitFor();
    const src = decodeURIComponent(await preview.getAttribute('src'));
    assert.match(src, /fill="#1d4ed8"/, 'the preview in the new colours');
    assert.match(src, /fill="#fef3c7"/);
    assert.match(src, /width="512"/);
    await shot(page, 'links-qr');

    const [file] = await Promise.all([
      page.waitForEvent('download'),
      detail.getByRole('button', { name: 'Download SVG' }).click(),
    ]);
    assert.equal(file.suggestedFilename(), `qr-${code}.svg`);
    const svg = readFileSync(await file.path(), 'utf8');
    assert.match(svg, /^<svg[^>]*width="512"/);
    assert.match(svg, /fill="#1d4ed8"/, 'the download is the code previewed');
    await assertClean(page, log, 'links rules and QR', [/status of 422/]);
  } finally {
    await context.close();
  }

  // a link to a task has no rules, and says why
  const task = await open({ viewport: { width: 1280, height: 900 } });
  try {
    await signIn(task.page);
    await task.page.goto(`${fx.base}/links`);
    await task.page.getByRole('radio', { name: 'All' }).click();
    await task.page.getByLabel('Find a link').fill(fx.task.code);
    await task.page.locator('.links-count', { hasText: /^1 link$/ }).waitFor();
    await task.page.getByRole('table', { name: 'Share links' }).locator('tbody tr').first().getByRole('button').click();
    const detail = task.page.locator('.links-detail');
    await detail.getByRole('tab', { name: /^Rules/ }).click();
    await detail.getByText('Redirect rules are for links to a URL.').waitFor();
    assert.equal(await detail.getByRole('form', { name: 'Redirect rules' }).count(), 0, 'no rules form');
    await assertClean(task.page, task.log, 'a task link\'s rules');
  } finally {
    await task.context.close();
  }

  // a phone: the same detail, one column
  const phone = await open({ viewport: { width: 375, height: 812 }, mobile: true });
  try {
    await signIn(phone.page);
    const detail = await openLink(phone.page, tag);
    await detail.getByRole('tab', { name: /^Rules/ }).click();
    await detail.getByLabel('Rule 2 target 2', { exact: true }).waitFor();
    await detail.scrollIntoViewIfNeeded();
    const [wide, widest] = await phone.page.evaluate(() => {
      let w = null;
      for (const e of document.querySelectorAll('body *')) {
        const r = e.getBoundingClientRect().right;
        if (!w || r > w[1]) w = [`${e.tagName.toLowerCase()}.${e.className}`, Math.round(r)];
      }
      return [document.documentElement.scrollWidth, w];
    });
    assert.ok(wide <= 375, `the page is not wider than the phone (${wide} px; ${widest})`);
    await phone.page.evaluate(() => window.scrollTo(0, 0));
    await shot(phone.page, 'links-rules-phone', true);
    await detail.getByRole('tab', { name: 'QR code' }).click();
    await detail.getByRole('img', { name: /^QR code preview/ }).waitFor();
    await phone.page.evaluate(() => window.scrollTo(0, 0));
    await shot(phone.page, 'links-qr-phone', true);
    await assertClean(phone.page, phone.log, 'links on a phone');
  } finally {
    await phone.context.close();
  }
});
