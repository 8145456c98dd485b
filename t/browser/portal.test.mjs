// The portal in a real browser (Debian's Chromium, headless, through
// playwright-core) against the nginx of t/browser.t, whose mail goes to a
// real SMTP server on loopback: "find my workspaces" asked on the
// platform host's landing page, the mailed link followed (signed in), the
// switcher in the workspace header moving to the person's other
// workspace in one click (a handoff link), and a used link's page. A
// screenshot of each in t/browser/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, launch, mailTo, open, shot } from './lib.mjs';

const px = fx.portal;
const STEP = 10_000;

let browser;

before(async () => {
  browser = await launch();
});

after(async () => { await browser?.close(); });

test('portal: find my workspaces by email, the link signs in, the switcher ' +
     'moves to the other workspace in one click', { timeout: 90_000 }, async () => {
  const { context, page, errors } = await open(browser, { step: STEP });
  try {
    await page.goto(`${px.platform}/`);
    await page.getByRole('heading', { name: 'Find my workspaces' }).waitFor();
    await page.getByLabel('Email to look up').fill(px.email);
    await shot(page, 'portal-1-find');
    await page.getByRole('button', { name: 'Email me' }).click();
    const status = page.getByRole('status');
    await status.waitFor();
    assert.match(await status.innerText(), /is on its way/);
    await shot(page, 'portal-2-sent');

    const text = await mailTo(px.email, /Your workspaces|workspaces this/);
    assert.match(text, new RegExp(px.two.name), 'the mail lists the other workspace');
    const link = text.match(new RegExp(`(${px.one.base.replace(/[.]/g, '\\.')}/auth/magic\\?token=[0-9a-f]{64})`))[1];
    await page.goto(link);
    await page.locator('.topbar').waitFor();
    assert.equal(new URL(page.url()).host, new URL(px.one.base).host, 'signed in on the first workspace');
    await shot(page, 'portal-3-signed-in');

    await page.getByRole('button', { name: /Switch workspace/ }).click();
    const item = page.getByRole('menuitem', { name: new RegExp(px.two.name) });
    await item.waitFor();
    await shot(page, 'portal-4-switcher');
    await item.click();
    await page.waitForURL((u) => u.host === new URL(px.two.base).host && !/magic/.test(u.pathname));
    await page.locator('.topbar').waitFor();
    await page.locator('.ws-name', { hasText: px.two.name }).waitFor();
    await shot(page, 'portal-5-switched');

    // the first link again: used
    await page.goto(link);
    await page.locator('#why').waitFor();
    assert.match(await page.locator('#why').innerText(), /used already/);
    await shot(page, 'portal-6-used');
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});
