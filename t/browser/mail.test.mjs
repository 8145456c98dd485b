// Mail's pages in a real browser (Debian's Chromium, headless, through
// playwright-core) against the nginx of t/browser.t, whose mail goes to a
// real SMTP server on loopback (t/lib/smtp_sink.py) that writes each
// message to fx.mail.dir: a forgotten password asked for on the sign-in
// page, the mailed link opened and a new password set; the email
// preferences of the profile; the unsubscribe page of a notification's
// link, without signing in. A screenshot of each in t/browser/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const fx = JSON.parse(readFileSync(process.env.KANBAN_BROWSER_FIXTURE, 'utf8'));
const SHOTS = process.env.KANBAN_SCREENSHOTS ||
  join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const STEP = 10_000;
const NEW_PASSWORD = 'a brand new passphrase';

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

async function open() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(STEP);
  context.setDefaultNavigationTimeout(STEP);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

// the text part of the newest message to an address (whose text matches
// want), once there is one
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

test('forgot password: asked on the sign-in page, the mailed link sets a ' +
     'new password, which signs in', { timeout: 60_000 }, async () => {
  const { context, page, errors } = await open();
  try {
    await page.goto(`${fx.base}/`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(/\/forgot-password$/);
    await page.getByLabel('Email').fill(fx.mail.reset);
    await page.screenshot({ path: join(SHOTS, 'mail-1-forgot.png') });
    await page.getByRole('button', { name: 'Send me a link' }).click();
    const status = page.getByRole('status');
    await status.waitFor();
    assert.match(await status.innerText(), /a link to set a new\s+password is on its way/);
    await page.screenshot({ path: join(SHOTS, 'mail-2-sent.png') });

    const text = await mailTo(fx.mail.reset);
    const link = text.match(/(http\S+\/reset-password#token=[0-9a-f]{64})/)[1];
    await page.goto(link);
    await page.locator('input[name=password]').fill(NEW_PASSWORD);
    await page.locator('input[name=again]').fill(NEW_PASSWORD);
    await page.screenshot({ path: join(SHOTS, 'mail-3-reset.png') });
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.getByRole('heading', { name: 'Your password is set' }).waitFor();
    assert.doesNotMatch(page.url(), /token/, 'the token is gone from the address bar');
    await page.screenshot({ path: join(SHOTS, 'mail-4-done.png') });

    // the same link again (a new load: only the fragment differs): refused
    await page.goto('about:blank');
    await page.goto(link);
    await page.locator('input[name=password]').fill(NEW_PASSWORD);
    await page.locator('input[name=again]').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /not valid/i);

    await page.goto(`${fx.base}/`);
    await page.getByLabel('Email').fill(fx.mail.reset);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.topbar').waitFor();
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});

test('profile → email: a kind set to the daily digest is kept', { timeout: 60_000 }, async () => {
  const { context, page, errors } = await open();
  try {
    await page.goto(`${fx.base}/`);
    await page.getByLabel('Email').fill(fx.mail.prefs);
    await page.getByLabel('Password').fill(fx.mail.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.topbar').waitFor();
    await page.goto(`${fx.base}/profile`);
    const digest = page.getByLabel('A task is assigned to me: Daily digest');
    await digest.check();
    await page.getByText('Saved.').waitFor();
    await page.screenshot({ path: join(SHOTS, 'mail-5-preferences.png') });
    await page.reload();
    await page.getByLabel('A task is assigned to me: Daily digest').waitFor();
    assert.equal(await page.getByLabel('A task is assigned to me: Daily digest').isChecked(), true);
    assert.equal(await page.getByLabel('Someone mentions me: Right away').isChecked(), true);
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});

test('unsubscribe: the link of a notification message, without signing in', { timeout: 60_000 }, async () => {
  const { context, page, errors } = await open();
  try {
    // the other flows mail this person too: the assignment's message
    const text = await mailTo(fx.mail.notified, /k=assigned&/);
    const link = text.match(/Stop these emails: (\S+)/)[1];
    await page.goto(link);
    await page.getByText('Stop emails when you are assigned a task?').waitFor();
    await page.screenshot({ path: join(SHOTS, 'mail-6-unsubscribe.png') });
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.getByRole('heading', { name: 'Unsubscribed' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'mail-7-unsubscribed.png') });
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});
