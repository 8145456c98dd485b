// Sign-in with an OIDC provider in a real browser: the workspace's
// sign-in page shows "Continue with <name>", the click goes to the
// provider (t/lib/Kanban/IdP.pm on loopback, which agrees at once) and
// back through the callback into the app, signed in by the refresh cookie
// the callback set; a failed sign-in comes back to the sign-in page,
// which says what went wrong.
//
// The fixture (KANBAN_BROWSER_FIXTURE, see t/browser.t) carries
//   "oauth": { "base": the workspace's origin, "name": the button's,
//              "user": the name of who the provider says signs in }

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, launch, open as openPage } from './lib.mjs';

const STEP = 10_000;

let browser;

before(async () => {
  browser = await launch();
});

after(async () => { await browser?.close(); });

// playwright's own default window, as a person's browser would have one
const open = () => openPage(browser, { step: STEP, viewport: { width: 1280, height: 720 } });

test('oauth: "Continue with" the provider signs in and lands where the app was opened', { timeout: 60_000 }, async () => {
  const { context, page } = await open();
  try {
    await page.goto(`${fx.oauth.base}/projects`);
    const button = page.getByRole('link', { name: `Continue with ${fx.oauth.name}` });
    await button.waitFor();
    await button.click();
    await page.locator('.topbar').waitFor();
    assert.equal(new URL(page.url()).pathname, '/projects', 'back where the app was opened');
    const cookies = await context.cookies(fx.oauth.base);
    assert.ok(cookies.some((c) => c.name === '__Host-kanban_refresh' && c.httpOnly),
              'the session is the HttpOnly refresh cookie');
    assert.ok(!cookies.some((c) => c.name === '__Host-kanban_oauth' && c.value),
              'the sign-in\'s own cookie is gone');
    await page.getByText(fx.oauth.user).first().waitFor();
  } finally {
    await context.close();
  }
});

test('oauth: a refused sign-in comes back to the sign-in page with its reason', { timeout: 60_000 }, async () => {
  const { context, page } = await open();
  try {
    await page.goto(`${fx.oauth.base}/signin?oauth_error=not_invited`);
    await page.getByRole('alert').filter({ hasText: 'Ask an admin for an invitation' }).waitFor();
    assert.equal(new URL(page.url()).search, '', 'the code leaves the address bar');
    await page.getByLabel('Email').waitFor();
  } finally {
    await context.close();
  }
});
