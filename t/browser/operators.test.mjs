// The operators' console in a real browser (issue 22): Debian's Chromium,
// headless, driven by playwright-core against the nginx t/browser.t
// started, on the platform host.
//
// An operator opens the setup link kanbanctl printed, reads the TOTP
// secret off the page, sets a password with the first code; signs in
// with password and the next code; sorts and filters the workspaces;
// suspends one (its admin is refused at once) and resumes it; deletes and
// restores it; tries a move; follows the jobs and the schema versions;
// reads it all in the audit log. Screenshots: t/browser/screenshots/operators-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, PASSWORD, assertClean as clean, call, failedToLoad, fx, launch, open as openPage,
         platform, shot, STEP, stepNow, totp } from './lib.mjs';

const OP = fx.operator;
const OP_PASSWORD = 'the console is mine to keep';

let browser;

before(async () => {
  browser = await launch();
});

after(async () => { await browser?.close(); });

const open = () => openPage(browser);

// the console's first look for a session: 401 before sign-in; the move
// refused on purpose: 409
const assertClean = (page, log, what) => clean(page, log, what, failedToLoad(/status of (401|409)/));

test('operators: setup link with TOTP, sign-in with password and code, ' +
     'workspaces sorted and filtered, suspend and resume, the audit log', { timeout: 150_000 }, async () => {
  const { context, page, log } = await open();
  try {
    // the setup link: the secret on the page, a password and the first code
    await page.goto(`${platform}/operators/setup#token=${OP.token}`);
    await page.getByRole('heading', { name: `Set up ${OP.email}` }).waitFor();
    const secret = (await page.getByLabel('TOTP secret').innerText()).replace(/\s/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/, 'the secret is shown');
    await shot(page, 'operators-setup');
    const first = stepNow();
    await page.getByLabel('Password').fill(OP_PASSWORD);
    await page.getByLabel('Code from the app').fill(totp(secret, first));
    await page.getByRole('button', { name: 'Finish setup' }).click();
    await page.getByRole('heading', { name: 'You are set up' }).waitFor();

    // sign-in: a replayed code is refused, the next one opens the console
    await page.getByRole('link', { name: 'Open the console' }).click();
    await page.getByRole('heading', { name: 'Operator sign-in' }).waitFor();
    await page.getByLabel('Email').fill(OP.email);
    await page.getByLabel('Password').fill(OP_PASSWORD);
    await page.getByLabel('Code').fill(totp(secret, first));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();
    await shot(page, 'operators-signin');
    await page.getByLabel('Code').fill(totp(secret, first + 1));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /^Workspaces/ }).waitFor();
    await page.locator('table.op-table tbody tr').first().waitFor();
    assert.ok(await page.locator('table.op-table tbody tr').count() >= 2, 'every workspace listed');

    // sorted by size, largest first, then smallest first
    const sizeHead = page.getByRole('columnheader', { name: /Size/ });
    await sizeHead.getByRole('button').click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]')?.textContent?.includes('Size'));
    await sizeHead.getByRole('button').click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="ascending"]')?.textContent?.includes('Size'));
    await shot(page, 'operators-workspaces');

    // filtered to one, opened, suspended: its admin is refused at once
    await page.getByLabel('Search workspaces').fill(OP.workspace);
    await page.waitForFunction((slug) => {
      const rows = [...document.querySelectorAll('table.op-table tbody tr')];
      return rows.length === 1 && rows[0].textContent.includes(slug);
    }, OP.workspace);
    await page.locator('table.op-table tbody tr').first().getByRole('button').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Suspend' }).click();
    await dialog.getByRole('button', { name: 'Resume' }).waitFor();
    await shot(page, 'operators-suspended');
    const login = await call(null, 'POST', '/api/v1/auth/login', { email: ADMIN, password: PASSWORD });
    assert.equal(login.status, 403, 'the suspended workspace refuses its admin');
    assert.equal(login.json?.code, 'tenant_suspended');

    await dialog.getByRole('button', { name: 'Resume' }).click();
    await dialog.getByRole('button', { name: 'Suspend' }).waitFor();
    const again = await call(null, 'POST', '/api/v1/auth/login', { email: ADMIN, password: PASSWORD });
    assert.equal(again.status, 200, 'resumed: its admin signs in again');

    // deleted (confirmed), refused with 410, restored
    page.once('dialog', (d) => d.accept());
    await dialog.getByRole('button', { name: 'Delete…' }).click();
    await dialog.getByRole('button', { name: 'Restore' }).waitFor();
    const gone = await call(again.json?.access_token, 'GET', '/api/v1/workspace');
    assert.equal(gone.status, 410, 'the deleted workspace answers 410');
    assert.equal(gone.json?.code, 'tenant_deleted');
    await shot(page, 'operators-deleted');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await dialog.getByRole('button', { name: 'Suspend' }).waitFor();
    assert.equal((await call(null, 'POST', '/api/v1/auth/login', { email: ADMIN, password: PASSWORD })).status,
                 200, 'restored: its admin signs in again');

    // limits
    await dialog.getByLabel('Max users').fill('40');
    await dialog.getByRole('button', { name: 'Save plan and limits' }).click();
    await page.getByText('Plan and limits saved').waitFor();

    // a move to where it is already: the console says why not
    await dialog.getByLabel('Move to server').fill('default');
    await dialog.getByRole('button', { name: 'Queue the move' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'on that server already' }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click().catch(() => page.keyboard.press('Escape'));

    // the jobs: every sign-up's provisioning, the deletion cancelled by the
    // restore, and the schema versions the workspaces are on
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    await page.getByRole('region', { name: 'Schema versions' }).getByText('(newest)').waitFor();
    await page.locator('table.op-jobs tbody code', { hasText: 'provision' }).first().waitFor();
    const deletion = page.locator('table.op-jobs tbody tr', { hasText: OP.workspace })
      .filter({ has: page.locator('code', { hasText: 'delete' }) });
    // a deletion a restore ended is no failure: shown as what it is
    await deletion.getByText('the workspace was restored within the grace period').waitFor();
    assert.equal(await deletion.locator('.status-pill').innerText(), 'cancelled');

    // live over the operators' event stream: a sign-up elsewhere comes
    // on top as its job changes, with no reload and no polling
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    const fresh = `live-${process.pid}-${Date.now() % 100000}`;
    const signup = await call(null, 'POST', '/api/v1/tenants', {
      slug: fresh, name: 'Live One',
      admin: { email: `admin@${fresh}.example`, password: PASSWORD, name: 'Liv' },
    }, {}, platform);
    assert.equal(signup.status, 201, `a sign-up: ${signup.text}`);
    const row = page.locator('table.op-jobs tbody tr', { hasText: fresh });
    await row.locator('.status-pill', { hasText: 'succeeded' }).waitFor({ timeout: STEP });
    await page.getByLabel('Kind').selectOption('provision');
    await page.waitForFunction(() => {
      const kinds = [...document.querySelectorAll('table.op-jobs tbody tr td:first-child code')];
      return kinds.length > 0 && kinds.every((c) => c.textContent === 'provision');
    });
    await page.getByLabel('Kind').selectOption('');
    await deletion.waitFor();
    await shot(page, 'operators-jobs');

    // the audit log: every action, who and from where
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    for (const action of ['workspace.suspended', 'workspace.resumed', 'workspace.updated',
                          'workspace.deleted', 'workspace.restored',
                          'operator.signed_in', 'operator.sign_in_failed', 'operator.set_up']) {
      await page.locator('table.data tbody code', { hasText: action }).first().waitFor();
    }
    await shot(page, 'operators-audit');
    await assertClean(page, log, 'the console');

    // signed out: the console asks again
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Operator sign-in' }).waitFor();
  } finally {
    await context.close();
  }
});
