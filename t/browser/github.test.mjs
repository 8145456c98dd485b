// The GitHub link in a real browser (issue 23): Debian's Chromium, headless,
// driven by playwright-core against the nginx that t/browser.t started.
//
// A manager links a repository in the board settings and copies the webhook
// URL and the secret shown once; GitHub is played by node, which sends a
// signed pull_request delivery to that URL as GitHub does; the card moves
// to Review on the open board (the event stream), and the task's panel
// shows the pull request with its state and the git branch with a copy
// button; a push that only links a commit shows in the open panel at once;
// the card shows its pull requests' states (open, then merged and closed)
// live. Screenshots: github-settings.png, github-task.png, github-card.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { call, fx, runTag, session, shot } from './lib.mjs';

const run = runTag();
const { api, signedIn } = session();

test('github: a repository linked in the board settings, its secret shown ' +
     'once; a signed pull request moves the card live and shows in the task ' +
     'with its state and the git branch', { timeout: 90_000 }, async () => {
  const key = `GH${run}`;
  const p = await api('POST', '/api/v1/projects', { name: `GitHub ${run}`, key });
  const cols = Object.fromEntries((await api('GET', `/api/v1/projects/${p.id}/columns`)).items
    .map((c) => [c.category, c]));
  const t = await api('POST', `/api/v1/projects/${p.id}/tasks`,
    { title: 'Escape the search box', column_id: cols.todo.id });
  assert.equal(t.git_branch, `${key.toLowerCase()}-1-escape-the-search-box`);

  const { context, page, errors } = await signedIn({ permissions: ['clipboard-read', 'clipboard-write'] });
  try {
    await page.goto(`${fx.base}/projects/${p.id}`);
    await page.locator('[data-task-id]', { hasText: 'Escape the search box' }).waitFor();

    await page.getByRole('button', { name: 'Board settings' }).click();
    await page.getByLabel('GitHub repository (owner/name)').fill('acme/vuln-tracker');
    await page.getByRole('button', { name: 'Link repository' }).click();
    const secret = (await page.getByTestId('github-secret').textContent()).trim();
    const hookUrl = (await page.getByTestId('github-webhook-url').textContent()).trim();
    assert.match(secret, /^ghsec_[0-9a-f]{48}$/, 'the secret is shown');
    assert.match(hookUrl, /\/hooks\/github\/[0-9a-f-]{36}$/, 'the webhook URL is shown');
    await page.getByRole('button', { name: 'Copy the secret' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'the secret copied');
    await page.locator('.github-link').waitFor();
    await page.locator('.github-settings').scrollIntoViewIfNeeded();
    await shot(page, 'github-settings');

    // the list never shows it again
    const links = await api('GET', `/api/v1/projects/${p.id}/integrations/github`);
    assert.equal(links.items.length, 1);
    assert.equal(links.items[0].secret, undefined);

    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByRole('button', { name: 'Done' }).click();

    // GitHub: a pull request opened that names the task
    const body = JSON.stringify({
      action: 'opened', number: 42,
      pull_request: {
        html_url: 'https://github.com/acme/vuln-tracker/pull/42', number: 42, state: 'open',
        title: `Fixes ${key}-1: escape the search box`, body: 'Escapes the query.',
        user: { login: 'octocat' }, draft: false, merged: false,
        updated_at: new Date().toISOString(),
        head: { ref: t.git_branch, sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' },
        base: { ref: 'main' },
      },
      repository: { full_name: 'acme/vuln-tracker', html_url: 'https://github.com/acme/vuln-tracker' },
      sender: { login: 'octocat' },
    });
    const path = new URL(hookUrl).pathname;
    const sig = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
    const r = await call(null, 'POST', path, body, {
      'Content-Type': 'application/json', 'X-GitHub-Event': 'pull_request',
      'X-GitHub-Delivery': randomUUID(), 'X-Hub-Signature-256': sig,
    });
    assert.equal(r.status, 200, `the delivery: ${r.text}`);
    assert.equal(r.json.moved, 1);

    // live: the card is in Review without a reload, with its pull request
    await page.locator(`section.cell[data-cell^="${cols.review.id}|"] [data-task-id]`,
      { hasText: 'Escape the search box' }).getByTestId('card-prs')
      .filter({ hasText: '#42 open' }).waitFor();

    await page.locator('[data-task-id]', { hasText: 'Escape the search box' }).click();
    const panel = page.locator('aside.panel');
    await panel.waitFor();
    await panel.getByTestId('git-branch').waitFor();
    assert.equal(await panel.getByTestId('git-branch').textContent(), t.git_branch);
    const pr = panel.locator('[data-link-kind="pull_request"]');
    await pr.waitFor();
    assert.match(await pr.textContent(), /#42 Fixes/);
    assert.equal(await pr.locator('.status-pill').textContent(), 'Open');
    await panel.getByRole('button', { name: 'Copy the branch name' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), t.git_branch);
    await panel.locator('.activity li', { hasText: 'GitHub' }).first().waitFor();

    // a push that only links (a commit naming the task): live in the open
    // panel's Code section, without a reload (task.updated on the stream)
    const push = JSON.stringify({
      ref: 'refs/heads/main', before: '0'.repeat(40), after: '9f1c2b7d3e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c',
      commits: [{ id: '9f1c2b7d3e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c',
                  message: `Escape the query too\n\nRefs ${key}-1`,
                  timestamp: new Date().toISOString(),
                  url: 'https://github.com/acme/vuln-tracker/commit/9f1c2b7d3e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c',
                  author: { name: 'Mona Lisa', username: 'monalisa' } }],
      repository: { full_name: 'acme/vuln-tracker', html_url: 'https://github.com/acme/vuln-tracker' },
      sender: { login: 'monalisa' },
    });
    const pushed = await call(null, 'POST', path, push, {
      'Content-Type': 'application/json', 'X-GitHub-Event': 'push',
      'X-GitHub-Delivery': randomUUID(),
      'X-Hub-Signature-256': 'sha256=' + createHmac('sha256', secret).update(push).digest('hex'),
    });
    assert.equal(pushed.status, 200, `the push: ${pushed.text}`);
    assert.equal(pushed.json.moved, 0, 'the push moves nothing');
    await panel.locator('[data-link-kind="commit"]', { hasText: 'Escape the query too' }).waitFor();

    await panel.locator('.task-code').scrollIntoViewIfNeeded();
    await shot(page, 'github-task');

    // the card: its pull requests' states at a glance, and live: #41
    // closed unmerged, #42 merged (which moves it to Done)
    const card = page.locator(`.card-wrap[data-task-id="${t.id}"]`);
    assert.match(await card.getByTestId('card-prs').textContent(), /#42 open/);
    for (const [number, merged] of [[41, false], [42, true]]) {
      const closed = JSON.stringify({
        action: 'closed', number,
        pull_request: {
          html_url: `https://github.com/acme/vuln-tracker/pull/${number}`, number, state: 'closed',
          title: `Fixes ${key}-1: escape the search box (${number})`, body: '',
          user: { login: 'octocat' }, draft: false, merged,
          updated_at: new Date().toISOString(),
          head: { ref: t.git_branch, sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' },
          base: { ref: 'main' },
        },
        repository: { full_name: 'acme/vuln-tracker', html_url: 'https://github.com/acme/vuln-tracker' },
        sender: { login: 'octocat' },
      });
      const c = await call(null, 'POST', path, closed, {
        'Content-Type': 'application/json', 'X-GitHub-Event': 'pull_request',
        'X-GitHub-Delivery': randomUUID(),
        'X-Hub-Signature-256': 'sha256=' + createHmac('sha256', secret).update(closed).digest('hex'),
      });
      assert.equal(c.status, 200, `pull request ${number} closed: ${c.text}`);
    }
    await page.locator(`section.cell[data-cell^="${cols.done.id}|"] .card-wrap[data-task-id="${t.id}"]`)
      .getByTestId('card-prs').filter({ hasText: '#42 merged' }).waitFor();
    assert.match(await card.getByTestId('card-prs').textContent(), /#42 merged\s*#41 closed/,
      'the merged one before the closed one');
    const board = await api('GET', `/api/v1/projects/${p.id}/kanban`);
    const onBoard = board.columns.flatMap((c) => c.tasks).find((x) => x.id === t.id);
    assert.deepEqual(onBoard.pull_requests.map((x) => `${x.number} ${x.state}`), ['42 merged', '41 closed'],
      'the board JSON carries them');
    await page.keyboard.press('Escape');
    await card.scrollIntoViewIfNeeded();
    await shot(page, 'github-card');
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
