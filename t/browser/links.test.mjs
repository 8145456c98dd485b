// The links page's redirect rules and QR options in a real browser
// (issue 25): Debian's Chromium, headless, driven by playwright-core
// against the nginx that t/browser.t started, signed in as the admin of
// its workspace. A link made on the page, a language rule and a 50/50
// split added, reordered, a bad target refused by the server and shown at
// its input, fixed and applied; the redirect then follows the rules. The
// QR code's colours changed with a live preview, a pair scanners could
// not read explained, the SVG downloaded. Screenshots at 1280 and 375 px
// in t/browser/screenshots/ (KANBAN_SCREENSHOTS to change it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertAppClean, call, fx, runTag, session, shot } from './lib.mjs';

const run = runTag(4);
const { api, signedIn } = session();


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
  const { context, page, log } = await signedIn({ viewport: { width: 1280, height: 900 } });
  try {
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
    // the answer is in before React has rendered it: wait for the mark, then judge it
    await page.waitForFunction((e) => e.getAttribute('aria-invalid') === 'true', await bad.elementHandle())
      .catch(() => {});
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
    await assertAppClean(page, log, 'links rules and QR', [/status of 422/]);
  } finally {
    await context.close();
  }

  // a link to a task has no rules, and says why
  const task = await signedIn({ viewport: { width: 1280, height: 900 } });
  try {
    await task.page.goto(`${fx.base}/links`);
    await task.page.getByRole('radio', { name: 'All' }).click();
    await task.page.getByLabel('Find a link').fill(fx.task.code);
    await task.page.locator('.links-count', { hasText: /^1 link$/ }).waitFor();
    await task.page.getByRole('table', { name: 'Share links' }).locator('tbody tr').first().getByRole('button').click();
    const detail = task.page.locator('.links-detail');
    await detail.getByRole('tab', { name: /^Rules/ }).click();
    await detail.getByText('Redirect rules are for links to a URL.').waitFor();
    assert.equal(await detail.getByRole('form', { name: 'Redirect rules' }).count(), 0, 'no rules form');
    await assertAppClean(task.page, task.log, 'a task link\'s rules');
  } finally {
    await task.context.close();
  }

  // a phone: the same detail, one column
  const phone = await signedIn({ viewport: { width: 375, height: 812 }, mobile: true });
  try {
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
    await shot(phone.page, 'links-rules-phone', { fullPage: true });
    await detail.getByRole('tab', { name: 'QR code' }).click();
    await detail.getByRole('img', { name: /^QR code preview/ }).waitFor();
    await phone.page.evaluate(() => window.scrollTo(0, 0));
    await shot(phone.page, 'links-qr-phone', { fullPage: true });
    await assertAppClean(phone.page, phone.log, 'links on a phone');
  } finally {
    await phone.context.close();
  }
});
