// A person working fast under the shipped rate limits (t/browser_session.t
// starts nginx with kanbanctl's API rate and burst): sign in, then every
// screen in a row without pause, the board's task panel included, three
// times (some 170 requests in 12 s).
// Not one request may meet a 429.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const fx = JSON.parse(readFileSync(process.env.KANBAN_BROWSER_FIXTURE, 'utf8'));
const PASSWORD = process.env.KANBAN_BROWSER_PASSWORD || 'correct horse battery staple';
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: fx.chromium, headless: true, chromiumSandbox: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-dev-shm-usage',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1'],
    timeout: 20_000,
  });
});
after(async () => { await browser?.close(); });

// the screen is shown and nothing on it is loading any more
async function settled(page) {
  await page.waitForFunction(() => document.querySelector('main h1, main h2')
    && !document.querySelector('.loading'), null, { timeout: 15_000 });
}

test(`a heavy session meets no 429 (rate ${fx.rate}, burst ${fx.burst})`, { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const seen = [];
  page.on('response', (r) => {
    if (!new URL(r.url()).pathname.startsWith('/api/')) return;
    seen.push({ status: r.status(), url: r.url(), remaining: Number(r.headers()['ratelimit-remaining'] ?? NaN) });
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    const t0 = Date.now();
    await page.goto(`${fx.base}/`);
    await page.getByLabel('Email').fill(fx.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.topbar').waitFor();
    const screens = [
      '/projects', `/projects/${fx.project}`, 'panel', `/projects/${fx.project}/timeline`,
      `/projects/${fx.project}/sprints`, '/portfolio', '/time', '/time/approvals',
      '/time/reports', '/search?q=operations', '/notifications', `/projects/${fx.project}`,
    ];
    for (let round = 0; round < 3; round++) {
      for (const s of screens) {
        if (s === 'panel') {
          await page.locator('[data-task-id]', { hasText: fx.task }).first().click();
          await page.locator('aside.panel').waitFor();
          await page.waitForFunction(() => !document.querySelector('aside.panel .loading'), null, { timeout: 15_000 });
          await page.keyboard.press('Escape');
          continue;
        }
        // as a person does: through the app's own links where it can,
        // a full load (a new tab, a reload) for the rest, every other time
        if (round % 2 === 1) await page.goto(`${fx.base}${s}`);
        else await page.evaluate((to) => { history.pushState({}, '', to); dispatchEvent(new PopStateEvent('popstate')); }, s);
        await settled(page);
      }
    }
    const took = Date.now() - t0;
    const refused = seen.filter((x) => x.status === 429);
    const low = Math.min(...seen.map((x) => x.remaining).filter((x) => !Number.isNaN(x)));
    console.log(`# ${seen.length} API requests in ${(took / 1000).toFixed(1)} s, ${refused.length} refused (429), lowest RateLimit-Remaining ${low}`);
    assert.deepEqual(refused.map((x) => x.url), [], 'no request met a 429');
    assert.ok(seen.length > 40, `the session made its requests (${seen.length})`);
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
