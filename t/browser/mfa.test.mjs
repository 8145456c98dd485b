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
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const fx = JSON.parse(readFileSync(process.env.KANBAN_BROWSER_FIXTURE, 'utf8'));
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

async function open() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(STEP);
  context.setDefaultNavigationTimeout(STEP);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

function base32(text) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) bits += abc.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}
const stepNow = () => Math.floor(Date.now() / 1000 / 30);
function totp(secret, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

// the next code an app would show: a step in the server's window
// (now - 1 .. now + 1) after the last one used
let last = 0;
async function nextCode(secret) {
  let step = Math.max(last + 1, stepNow() - 1);
  while (step > stepNow() + 1) await new Promise((r) => setTimeout(r, 1000));
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
    await page.screenshot({ path: join(SHOTS, 'mfa-1-enrol.png') });
    await section.getByLabel('The code the app shows').fill(await nextCode(secret));
    await section.getByRole('button', { name: 'Turn on' }).click();
    const list = section.getByRole('list', { name: 'Recovery codes' });
    await list.waitFor();
    recovery = await list.locator('li').allInnerTexts();
    assert.equal(recovery.length, 10);
    await page.screenshot({ path: join(SHOTS, 'mfa-2-recovery-codes.png') });
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
    await page.screenshot({ path: join(SHOTS, 'mfa-3-second-step.png') });
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
    await page.screenshot({ path: join(SHOTS, 'mfa-4-recovery.png') });
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
    await page.screenshot({ path: join(SHOTS, 'mfa-5-off.png') });
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
    await page.screenshot({ path: join(SHOTS, 'mfa-6-enrol-at-sign-in.png') });
    last = 0;
    await page.getByLabel('The code the app shows').fill(await nextCode(key));
    await page.getByRole('button', { name: 'Turn on and sign in' }).click();
    const list = page.getByRole('list', { name: 'Recovery codes' });
    await list.waitFor();
    assert.equal((await list.locator('li').allInnerTexts()).length, 10);
    await page.screenshot({ path: join(SHOTS, 'mfa-7-enrolled-recovery-codes.png') });
    await page.getByRole('button', { name: 'I have saved them, continue' }).click();
    await page.locator('.topbar').waitFor();
    assert.deepEqual(errors, [], 'no uncaught exceptions');
  } finally {
    await context.close();
  }
});
