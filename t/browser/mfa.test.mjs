// Two-factor sign-in in a real browser (Debian's Chromium, headless,
// through playwright-core) against the nginx of t/browser.t: a member
// sets up an authenticator from the profile (the key and the otpauth://
// link shown, a first code, the recovery codes shown once), signs in
// again with password and code (a wrong code first), then with a
// recovery code, and turns it off. In a workspace that requires it of
// admins, an admin not enrolled sets it up at sign-in (QR code, key,
// first code, recovery codes) before the app opens. The codes are
// computed here from RFC 6238. A screenshot of each step in
// t/browser/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, launch, open as openPage, shot, sleep, stepNow, totp } from './lib.mjs';

const STEP = 10_000;

let browser;

before(async () => {
  browser = await launch();
});

after(async () => { await browser?.close(); });

const open = () => openPage(browser, { step: STEP });

// the next code an app would show: a step in the server's window
// (now - 1 .. now + 1) after the last one used
let last = 0;
async function nextCode(secret) {
  let step = Math.max(last + 1, stepNow() - 1);
  while (step > stepNow() + 1) await sleep(1000);
  last = step;
  return totp(secret, step);
}

async function password(page) {
  await page.goto(`${fx.base}/`);
  await page.getByLabel('Email').fill(fx.mfa.email);
  await page.getByLabel('Password').fill(fx.mfa.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

let secret;
let recovery;

test('mfa: set up from the profile, the recovery codes shown once', { timeout: 60_000 }, async () => {
  const { context, page, errors } = await open();
  try {
    await password(page);
    await page.locator('.topbar').waitFor();
    await page.goto(`${fx.base}/profile`);
    const section = page.locator('section.two-factor');
    await section.getByText('Off', { exact: true }).waitFor();
    await section.getByLabel('Your password').fill(fx.mfa.password);
    await section.getByRole('button', { name: 'Set up' }).click();
    secret = await section.getByLabel('Key', { exact: true }).inputValue();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.match(await section.getByLabel('Link (otpauth://)').inputValue(),
      new RegExp(`^otpauth://totp/Kanban:.*\\?secret=${secret}&`));
    await shot(page, 'mfa-1-enrol');
    await section.getByLabel('The code the app shows').fill(await nextCode(secret));
    await section.getByRole('button', { name: 'Turn on' }).click();
    const list = section.getByRole('list', { name: 'Recovery codes' });
    await list.waitFor();
    recovery = await list.locator('li').allInnerTexts();
    assert.equal(recovery.length, 10);
    await shot(page, 'mfa-2-recovery-codes');
    await section.getByRole('button', { name: 'I have saved them' }).click();
    await section.getByText('On', { exact: true }).waitFor();
    await section.getByText('10 recovery codes left.').waitFor();
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});

test('mfa: sign-in asks for the code; a wrong one is refused', { timeout: 90_000 }, async () => {
  const { context, page, errors } = await open();
  try {
    await password(page);
    await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
    const code = page.getByLabel('Code from your authenticator app');
    const right = await nextCode(secret);
    await code.fill(right === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('The code is not right').waitFor();
    await shot(page, 'mfa-3-second-step');
    await code.fill(right);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('.topbar').waitFor();
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});

test('mfa: a recovery code signs in once; then turned off', { timeout: 90_000 }, async () => {
  const { context, page, errors } = await open();
  try {
    await password(page);
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(recovery[0]);
    await shot(page, 'mfa-4-recovery');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('.topbar').waitFor();
    await page.goto(`${fx.base}/profile`);
    const section = page.locator('section.two-factor');
    await section.getByText('9 recovery codes left.').waitFor();
    await section.getByLabel('Password').fill(fx.mfa.password);
    await section.getByLabel('Code', { exact: true }).fill(await nextCode(secret));
    await section.getByRole('button', { name: 'Turn off' }).click();
    await page.getByText('Two-factor sign-in is off.').waitFor();
    await section.getByText('Off', { exact: true }).waitFor();
    await shot(page, 'mfa-5-off');
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});

test('mfa: the workspace requires it; an admin not enrolled enrols at sign-in', { timeout: 90_000 }, async () => {
  const { context, page, errors } = await open();
  try {
    const p = fx.mfa_policy;
    await page.goto(`${p.base}/`);
    await page.getByLabel('Email').fill(p.email);
    await page.getByLabel('Password').fill(p.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Set up two-factor sign-in' }).waitFor();
    const qr = page.getByAltText('QR code of your authenticator key');
    await qr.waitFor();
    // the QR code is an image the browser drew: it has a size
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 100));
    const key = await page.getByLabel('Key', { exact: true }).inputValue();
    assert.match(key, /^[A-Z2-7]{32}$/);
    await shot(page, 'mfa-6-enrol-at-sign-in');
    last = 0;
    await page.getByLabel('The code the app shows').fill(await nextCode(key));
    await page.getByRole('button', { name: 'Turn on and sign in' }).click();
    const list = page.getByRole('list', { name: 'Recovery codes' });
    await list.waitFor();
    assert.equal((await list.locator('li').allInnerTexts()).length, 10);
    await shot(page, 'mfa-7-enrolled-recovery-codes');
    await page.getByRole('button', { name: 'I have saved them, continue' }).click();
    await page.locator('.topbar').waitFor();
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});
