// What every browser test needs, in one place: the fixture t/browser.t
// wrote, Debian's Chromium launched headless, a page in a context of its
// own that records what goes wrong in it, the sign-in form filled, the
// API called from node with a token, screenshots by name, and the waits
// for what arrives outside the page (mail, TOTP codes); session() is the
// before/after of a file whose flows are the admin's.
//
// Not a test file (node --test runs only *.test.mjs from t/browser.t).

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { chromium } from 'playwright-core';


// ---- the fixture -------------------------------------------------------

const fixtureFile = process.env.KANBAN_BROWSER_FIXTURE;
if (!fixtureFile) {
  throw new Error('KANBAN_BROWSER_FIXTURE is not set: run this through ' +
                  't/browser.t (bash t/run t/browser.t)');
}

export const fx = JSON.parse(readFileSync(fixtureFile, 'utf8'));

// the harness's password of every person it made
export const PASSWORD = process.env.KANBAN_BROWSER_PASSWORD || 'correct horse battery staple';
export const [ADMIN, CARL] = fx.emails;

// the platform host: the workspace's origin without its subdomain
export const platform = fx.base.replace(/\/\/[^.]+\./, '//');

// one navigation or wait, at most (a file may ask for more)
export const STEP = 15_000;

// a suffix that keeps this run's keys and names apart from an earlier
// run's against the same database
export const runTag = (length = 3) => Date.now().toString(36).toUpperCase().slice(-length);

export const SHOTS = process.env.KANBAN_SCREENSHOTS ||
  join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(SHOTS, { recursive: true });

// t/browser/screenshots/<name>.png, to be looked at
export const shot = (page, name, options = {}) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), ...options });


// ---- the browser -------------------------------------------------------

export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: fx.chromium,
    headless: true,
    // a fresh, empty profile in a temporary directory is playwright's own
    // (removed on close); as root Chromium needs --no-sandbox. The rest
    // keeps it off the network it cannot reach here.
    chromiumSandbox: false,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-dev-shm-usage',
      // <slug>.localhost is loopback for Chromium anyway; this only spares
      // it the attempt on ::1, where nginx does not listen
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
      ...extraArgs,
    ],
    timeout: 20_000,
  });
}

// A page in a context of its own (no cookies carried over), with
// everything it says recorded: uncaught exceptions (errors, also
// log.errors), console lines, responses, and the CSP violations the page
// itself reports (init scripts are not subject to the page's CSP).
export async function open(browser, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || { width: 1400, height: 900 },
    ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
    ...(opts.mobile ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
  context.setDefaultTimeout(opts.step || STEP);
  context.setDefaultNavigationTimeout(opts.step || STEP);
  if (opts.permissions) {
    await context.grantPermissions(opts.permissions, { origin: opts.origin || fx.base });
  }
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  const log = { console: [], errors: [], responses: [] };
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text(), url: m.location().url }));
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('response', (r) => log.responses.push(r));
  return { context, page, log, errors: log.errors };
}

// The sign-in form of a workspace, until the app's top bar shows.
export async function signIn(page, email = ADMIN, password = PASSWORD, base = fx.base) {
  await page.goto(`${base}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.topbar').waitFor();
}

// A console line that is Chromium's "Failed to load resource" for an
// HTTP error matching one of these: the errors a flow provokes on purpose.
export const failedToLoad = (...statuses) => (m) =>
  /^Failed to load resource/.test(m.text) && statuses.some((re) => re.test(m.text));

// No uncaught exception, no CSP violation, no console error but those
// forgiven (a predicate on the console line { type, text, url }).
export async function assertClean(page, log, what, forgiven = () => false) {
  assert.deepEqual(log.errors, [], `${what}: uncaught exceptions`);
  assert.deepEqual(await page.evaluate(() => window.__csp).catch(() => []), [], `${what}: CSP violations`);
  const errors = log.console.filter((m) => m.type === 'error' && !forgiven(m));
  assert.deepEqual(errors, [], `${what}: console errors`);
}

// assertClean for a page of the app: the HTTP errors it logs on its own
// are forgiven (the first silent refresh's 401, nobody signed in yet; the
// event stream's 404 while the server has none), and those a flow
// provokes on purpose (allowed: regexes on the console line).
export const assertAppClean = (page, log, what, allowed = []) =>
  assertClean(page, log, what, failedToLoad(/status of 401 .*$/, /status of 404/, ...allowed));


// ---- the API, from node --------------------------------------------------

// node:http to 127.0.0.1 with the workspace's Host: node's resolver,
// unlike Chromium's, does not map *.localhost to loopback. A body that is
// not a string goes as JSON; headers given win over the defaults (an
// Authorization of their own, Accept).
export function call(token, method, path, body, headers = {}, base = fx.base) {
  const u = new URL(/^https?:/.test(path) ? path : base + path);
  const h = { Accept: 'application/json', Host: u.host, ...headers };
  if (token && !('Authorization' in h)) h.Authorization = `Bearer ${token}`;
  let data = body;
  if (body !== undefined && typeof body !== 'string') {
    h['Content-Type'] = 'application/json';
    data = JSON.stringify(body);
  }
  if (data !== undefined) h['Content-Length'] = Buffer.byteLength(data);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method, headers: h }, (res) => {
      const type = res.headers['content-type'];
      // an event stream never ends: its status is all we want
      if (/event-stream/.test(type || '')) {
        res.destroy();
        resolve({ status: res.statusCode, type, headers: res.headers, json: null, text: '' });
        return;
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, type, headers: res.headers, json, text });
      });
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer`)));
    if (data !== undefined) req.write(data);
    req.end();
  });
}

// The answer's JSON, once it is a 2xx.
export async function made(answer, what) {
  const r = await answer;
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${r.text}`);
  return r.json;
}

// Someone signed in to the API: { token, user, call, api, login }, where
// api() wants a 2xx and returns its JSON.
export function client(base = fx.base) {
  const c = {
    token: null,
    user: null,
    call: (method, path, body, headers = {}) => call(c.token, method, path, body, headers, base),
    api: (method, path, body) => made(c.call(method, path, body), `${method} ${path}`),
    async login(email = ADMIN, password = PASSWORD) {
      const s = await made(call(null, 'POST', '/api/v1/auth/login', { email, password }, {}, base),
                           `login ${email}`);
      c.token = s.access_token;
      c.user = s.user;
      return c;
    },
  };
  return c;
}


// ---- a file's session -----------------------------------------------------

// The setup most flow files share, as their hooks: Chromium launched and
// the admin signed in to the API before the file's tests, Chromium closed
// after them. Returns { admin, api, browser(), open, signedIn }: open(opts)
// is a recorded page of that Chromium with the file's defaults under opts,
// signedIn(opts, email) the same once the sign-in form is through.
// What a file makes through the API before its tests goes in setup(s):
// node 20 runs a file's top-level before() hooks side by side, so a hook
// of the file's own could not count on the admin being signed in.
export function session({ setup, ...defaults } = {}) {
  let browser;
  const admin = client();
  before(async () => {
    browser = await launch();
    await admin.login();
    if (setup) await setup(s);
  });
  after(async () => { await browser?.close(); });
  const s = {
    admin,
    api: admin.api,
    browser: () => browser,
    open: (opts = {}) => open(browser, { ...defaults, ...opts }),
    async signedIn(opts = {}, email = ADMIN) {
      const opened = await s.open(opts);
      await signIn(opened.page, email);
      return opened;
    },
  };
  return s;
}


// ---- waiting for what comes outside the page ----------------------------

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The text part of the newest message to an address (whose text matches
// want), once there is one: t/lib/smtp_sink.py writes each to fx.mail.dir.
export async function mailTo(address, want = /./, seconds = 15) {
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
    await sleep(200);
  }
  throw new Error(`no mail to ${address}`);
}

// RFC 6238, from the RFC: HMAC-SHA1 of the 30-second step, 6 digits
function base32(text) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) bits += abc.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

export const stepNow = () => Math.floor(Date.now() / 1000 / 30);

export function totp(secret, step = stepNow()) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
