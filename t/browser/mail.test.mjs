// Mail's pages in a real browser (Debian's Chromium, headless, through
// playwright-core) against the nginx of t/browser.t, whose mail goes to a
// real SMTP server on loopback (t/lib/smtp_sink.py) that writes each
// message to fx.mail.dir: a forgotten password asked for on the sign-in
// page, the mailed link opened and a new password set; the email
// preferences of the profile; the unsubscribe page of a notification's
// link, without signing in. A screenshot of each in t/browser/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, launch, mailTo, open as openPage, shot } from './lib.mjs';

const STEP = 10_000;
const NEW_PASSWORD = 'a brand new passphrase';

let browser;

before(async () => {
  browser = await launch();
});

after(async () => { await browser?.close(); });

const open = () => openPage(browser, { step: STEP });

test('forgot password: asked on the sign-in page, the mailed link sets a ' +
     'new password, which signs in', { timeout: 60_000 }, async () => {
  const { context, page, errors } = await open();
  try {
    await page.goto(`${fx.base}/`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(/\/forgot-password$/);
    await page.getByLabel('Email').fill(fx.mail.reset);
    await shot(page, 'mail-1-forgot');
    await page.getByRole('button', { name: 'Send me a link' }).click();
    const status = page.getByRole('status');
    await status.waitFor();
    assert.match(await status.innerText(), /a link to set a new\s+password is on its way/);
    await shot(page, 'mail-2-sent');

    const text = await mailTo(fx.mail.reset);
    const link = text.match(/(http\S+\/reset-password#token=[0-9a-f]{64})/)[1];
    await page.goto(link);
    await page.locator('input[name=password]').fill(NEW_PASSWORD);
    await page.locator('input[name=again]').fill(NEW_PASSWORD);
    await shot(page, 'mail-3-reset');
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.getByRole('heading', { name: 'Your password is set' }).waitFor();
    assert.doesNotMatch(page.url(), /token/, 'the token is gone from the address bar');
    await shot(page, 'mail-4-done');

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
    await shot(page, 'mail-5-preferences');
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
    await shot(page, 'mail-6-unsubscribe');
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.getByRole('heading', { name: 'Unsubscribed' }).waitFor();
    await shot(page, 'mail-7-unsubscribed');
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});
