// The weekly portfolio report in a real browser (issue 19): Debian's
// Chromium, headless, driven by playwright-core against the nginx that
// t/browser.t started.
//
// 1. The report page printed: page.pdf (A4 landscape, the page's print
//    stylesheet), one page a project section; the first page turned into
//    a picture with poppler's pdftoppm and kept as
//    t/browser/screenshots/report-print.png, to be looked at.
// 2. Its Share button: a manager makes a link to this week's report in the
//    share dialog; someone without an account opens the short link and
//    reads the report on the public page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fx, runTag, session, shot, SHOTS } from './lib.mjs';

const run = runTag();
const { api: made, open, signedIn } = session({
  // three active projects of the report, whatever else the workspace has
  async setup({ api }) {
    for (const [key, name] of [['RPA', 'Data centre exit'], ['RPB', 'Payroll upgrade'], ['RPC', 'Zero trust']]) {
      const p = await api('POST', '/api/v1/projects', { key: `${key}${run}`, name: `${name} ${run}`, status: 'active' });
      await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: `First step of ${name}` });
    }
  },
});


test('the weekly report prints one A4 landscape page a project', async () => {
  const report = await made('GET', '/api/v1/portfolio/report');
  const n = report.projects.length;
  assert.ok(n >= 3, `at least the three projects made here: ${n}`);

  const { context, page, errors } = await signedIn();
  try {
    await page.goto(`${fx.base}/portfolio/report`);
    await page.locator('section.report-project').first().waitFor();
    assert.equal(await page.locator('section.report-project').count(), n, 'a section a project');

    const dir = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'report-'));
    const pdf = join(dir, 'report.pdf');
    await page.pdf({ path: pdf, format: 'A4', landscape: true, printBackground: true });

    const info = execFileSync('pdfinfo', [pdf], { encoding: 'utf8' });
    assert.equal(Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]), n, `one page a project:\n${info}`);
    const [w, h] = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(info).slice(1).map(Number);
    assert.ok(Math.abs(w - 842) < 2 && Math.abs(h - 595) < 2, `A4 landscape: ${w} x ${h} pt`);

    // the first page as a picture (-singlefile: no page number in the name)
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', pdf, join(dir, 'page')]);
    const png = join(dir, 'page.png');
    assert.ok(statSync(png).size > 10_000, 'the first page as a PNG');
    assert.deepEqual([...readFileSync(png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG indeed');
    copyFileSync(png, join(SHOTS, 'report-print.png'));
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});


test("the report's Share button makes a link outsiders read", async () => {
  const { context, page, errors } = await signedIn();
  let code;
  try {
    await page.goto(`${fx.base}/portfolio/report`);
    await page.locator('section.report-project').first().waitFor();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const short = await dialog.getByLabel('Short link').inputValue();
    code = /\/s\/([0-9A-Za-z]+)$/.exec(short)?.[1];
    assert.ok(code, `a short link: ${short}`);
    await shot(page, 'report-share');
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }

  const outsider = await open();
  try {
    await outsider.page.goto(`${fx.base}/s/${code}`);
    await outsider.page.getByRole('heading', { level: 1, name: /^Portfolio report \d{4}-W\d\d$/ }).waitFor();
    assert.match(await outsider.page.locator('main').textContent(), new RegExp(`Payroll upgrade ${run}`),
                 'the report with its projects');
    assert.equal(await outsider.page.getByRole('button', { name: 'Share' }).count(), 0, 'read-only');
    await shot(outsider.page, 'report-shared');
    assert.deepEqual(outsider.errors, [], 'no uncaught exception');
  } finally {
    await outsider.context.close();
  }
});
