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

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { chromium } from 'playwright-core';

const fixtureFile = process.env.KANBAN_BROWSER_FIXTURE;
if (!fixtureFile) {
  throw new Error('KANBAN_BROWSER_FIXTURE is not set: run this through ' +
                  't/browser.t (bash t/run t/browser.t)');
}
const fx = JSON.parse(readFileSync(fixtureFile, 'utf8'));
const PASSWORD = process.env.KANBAN_BROWSER_PASSWORD || 'correct horse battery staple';
const [ADMIN] = fx.emails;
const SHOTS = process.env.KANBAN_SCREENSHOTS ||
  join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const STEP = 15_000;
const run = Date.now().toString(36).toUpperCase().slice(-3);

let browser;
let token;

// node:http to 127.0.0.1 with the workspace's Host (node's resolver does
// not map *.localhost to loopback, unlike Chromium's)
function call(method, path, body) {
  const url = new URL(fx.base + path);
  const data = body === undefined ? null : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: url.port, method, path: url.pathname + url.search,
      headers: {
        Host: url.host, Accept: 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(data ? { 'Content-Type': 'application/json' } : {}),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function made(method, path, body) {
  const r = await call(method, path, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

before(async () => {
  browser = await chromium.launch({
    executablePath: fx.chromium,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-dev-shm-usage',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
    ],
    timeout: 20_000,
  });
  token = (await made('POST', '/api/v1/auth/login', { email: ADMIN, password: PASSWORD })).access_token;
  // three active projects of the report, whatever else the workspace has
  for (const [key, name] of [['RPA', 'Data centre exit'], ['RPB', 'Payroll upgrade'], ['RPC', 'Zero trust']]) {
    const p = await made('POST', '/api/v1/projects', { key: `${key}${run}`, name: `${name} ${run}`, status: 'active' });
    await made('POST', `/api/v1/projects/${p.id}/tasks`, { title: `First step of ${name}` });
  }
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

async function signIn(page) {
  await page.goto(`${fx.base}/`);
  await page.getByLabel('Email').fill(ADMIN);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.topbar').waitFor();
}


test('the weekly report prints one A4 landscape page a project', async () => {
  const report = await made('GET', '/api/v1/portfolio/report');
  const n = report.projects.length;
  assert.ok(n >= 3, `at least the three projects made here: ${n}`);

  const { context, page, errors } = await open();
  try {
    await signIn(page);
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
  const { context, page, errors } = await open();
  let code;
  try {
    await signIn(page);
    await page.goto(`${fx.base}/portfolio/report`);
    await page.locator('section.report-project').first().waitFor();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const short = await dialog.getByLabel('Short link').inputValue();
    code = /\/s\/([0-9A-Za-z]+)$/.exec(short)?.[1];
    assert.ok(code, `a short link: ${short}`);
    await page.screenshot({ path: join(SHOTS, 'report-share.png') });
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
    await outsider.page.screenshot({ path: join(SHOTS, 'report-shared.png') });
    assert.deepEqual(outsider.errors, [], 'no uncaught exception');
  } finally {
    await outsider.context.close();
  }
});
