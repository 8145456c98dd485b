// The portal in a real browser (Debian's Chromium, headless, through
// playwright-core) against the nginx of t/browser.t, whose mail goes to a
// real SMTP server on loopback: "find my workspaces" asked on the
// platform host's landing page, the mailed link followed (signed in), the
// switcher in the workspace header moving to the person's other
// workspace in one click (a handoff link), and a used link's page. A
// screenshot of each in t/browser/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const fx = JSON.parse(readFileSync(process.env.KANBAN_BROWSER_FIXTURE, 'utf8'));
const px = fx.portal;
const SHOTS = process.env.KANBAN_SCREENSHOTS ||
  join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const STEP = 10_000;

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: fx.chromium, headless: true, chromiumSandbox: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-dev-shm-usage',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1'],
    timeout: 20_000,
  });
});

after(async () => { await browser?.close(); });

// the text part of the newest message to an address, once there is one
async function mailTo(address, want = /./, seconds = 15) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const files = readdirSync(fx.mail.dir).filter((f) => f.endsWith('.json')).sort().reverse();
    for (const f of files) {
      const env = JSON.parse(readFileSync(join(fx.mail.dir, f), 'utf8'));
      if (!env.rcpt_tos.includes(address)) continue;
      const raw = readFileSync(join(fx.mail.dir, f.replace(/\.json$/, '.eml')), 'latin1');
      const part = raw.split(/--=_kanban_[^\r\n]*\r\n/).find((p) => /text\/plain/.test(p));
      const text = Buffer.from(part.split(/\r\n\r\n/)[1].replace(/\s+/g, ''), 'base64').toString('utf8');
      if (want.test(text)) return text;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail to ${address}`);
}

test('portal: find my workspaces by email, the link signs in, the switcher ' +
     'moves to the other workspace in one click', { timeout: 90_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(STEP);
  context.setDefaultNavigationTimeout(STEP);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${px.platform}/`);
    await page.getByRole('heading', { name: 'Find my workspaces' }).waitFor();
    await page.getByLabel('Email to look up').fill(px.email);
    await page.screenshot({ path: join(SHOTS, 'portal-1-find.png') });
    await page.getByRole('button', { name: 'Email me' }).click();
    const status = page.getByRole('status');
    await status.waitFor();
    assert.match(await status.innerText(), /is on its way/);
    await page.screenshot({ path: join(SHOTS, 'portal-2-sent.png') });

    const text = await mailTo(px.email, /Your workspaces|workspaces this/);
    assert.match(text, new RegExp(px.two.name), 'the mail lists the other workspace');
    const link = text.match(new RegExp(`(${px.one.base.replace(/[.]/g, '\\.')}/auth/magic\\?token=[0-9a-f]{64})`))[1];
    await page.goto(link);
    await page.locator('.topbar').waitFor();
    assert.equal(new URL(page.url()).host, new URL(px.one.base).host, 'signed in on the first workspace');
    await page.screenshot({ path: join(SHOTS, 'portal-3-signed-in.png') });

    await page.getByRole('button', { name: /Switch workspace/ }).click();
    const item = page.getByRole('menuitem', { name: new RegExp(px.two.name) });
    await item.waitFor();
    await page.screenshot({ path: join(SHOTS, 'portal-4-switcher.png') });
    await item.click();
    await page.waitForURL((u) => u.host === new URL(px.two.base).host && !/magic/.test(u.pathname));
    await page.locator('.topbar').waitFor();
    await page.locator('.ws-name', { hasText: px.two.name }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'portal-5-switched.png') });

    // the first link again: used
    await page.goto(link);
    await page.locator('#why').waitFor();
    assert.match(await page.locator('#why').innerText(), /used already/);
    await page.screenshot({ path: join(SHOTS, 'portal-6-used.png') });
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});
