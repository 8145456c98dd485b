// Templates and rules in a real browser (issue 24): Debian's Chromium,
// headless, driven by playwright-core against the nginx that t/browser.t
// started.
//
// A manager starts a project from the gallery's "IT project" (its phases
// as swimlanes on the board), saves a project as a template from the board
// settings, and makes a rule in the project's Rules tab (when a task is
// moved to Done, if its priority is high, comment); a task moved through
// the API runs it, and the runs log shows that run and a failing one (a
// move into a full column) with its reason. Screenshots:
// templates-gallery.png, templates-board.png, rules-editor.png,
// rules-runs.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fx, runTag, session, shot } from './lib.mjs';

const run = runTag();
const { api, signedIn } = session();

test('templates: a project started from the gallery\'s IT project has its ' +
     'phases; a board saved as a template joins the gallery', { timeout: 90_000 }, async () => {
  const { context, page, errors } = await signedIn();
  try {
    await page.goto(`${fx.base}/projects`);
    await page.getByRole('button', { name: 'New project' }).click();
    // the dialog's own fields (the page behind has projects named alike)
    const dialog = page.getByRole('dialog', { name: 'New project' });
    const card = dialog.locator('[data-template="IT project"]');
    await card.waitFor();
    await card.click();
    assert.equal(await card.getAttribute('aria-pressed'), 'true');
    await dialog.getByLabel('Name', { exact: true }).fill(`Data centre move ${run}`);
    await dialog.getByRole('textbox', { name: /^Key/ }).fill(`DC${run}`);
    await dialog.locator('input[name="start_date"]').fill('2027-01-04');
    await shot(page, 'templates-gallery');
    await dialog.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    await page.locator('[data-task-id]', { hasText: 'Write the project charter' }).waitFor();
    await page.getByText('Initiation').first().waitFor();
    await shot(page, 'templates-board');
    const pid = page.url().split('/').pop();
    const tasks = await api('GET', `/api/v1/projects/${pid}/timeline`);
    assert.ok(JSON.stringify(tasks).includes('2027-01-14'), 'the charter is due ten days after the start');

    await page.getByRole('button', { name: 'Board settings' }).click();
    await page.getByLabel('Template name', { exact: true }).fill(`Move playbook ${run}`);
    await page.getByRole('button', { name: 'Save as template' }).click();
    await page.getByText(`Saved as the template “Move playbook ${run}”`).waitFor();
    const list = await api('GET', '/api/v1/templates?kind=project');
    assert.ok(list.items.some((t) => t.name === `Move playbook ${run}`), 'in the gallery');
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});

test('rules: a rule made in the Rules tab (when / if / then) runs on a ' +
     'move; the runs log shows it and a failing one with its reason', { timeout: 90_000 }, async () => {
  const p = await api('POST', '/api/v1/projects', { name: `Rules ${run}`, key: `RU${run}` });
  const cols = Object.fromEntries((await api('GET', `/api/v1/projects/${p.id}/columns`)).items
    .map((c) => [c.category, c]));
  const { context, page, errors } = await signedIn();
  try {
    await page.goto(`${fx.base}/projects/${p.id}/rules`);
    await page.getByText('No rules yet.').waitFor();
    await page.getByRole('button', { name: 'New rule' }).click();
    await page.getByLabel('Rule name').fill('Announce urgent work done');
    await page.getByLabel('When', { exact: true }).selectOption('task_moved');
    await page.getByLabel('Into column').selectOption(cols.done.id);
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.getByLabel('Condition 1 value').fill('high');
    await page.getByLabel('Action 1 comment').fill('Done: tell the customer.');
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByLabel('Action 2', { exact: true }).selectOption('notify');
    await page.getByLabel('Action 2 message').fill('High-priority work is done.');
    await shot(page, 'rules-editor');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const rule = page.locator('.rule', { hasText: 'Announce urgent work done' });
    await rule.waitFor();
    assert.match(await rule.textContent(), /When\s*A task is moved to Done/);
    assert.match(await rule.textContent(), /If\s*Priority is “high”/);
    assert.match(await rule.textContent(), /notify the assignees/);

    // a loop is refused, with the loop named
    await page.getByRole('button', { name: 'New rule' }).click();
    await page.getByLabel('Rule name').fill('Done again');
    await page.getByLabel('Into column').selectOption(cols.done.id);
    await page.getByLabel('Action 1', { exact: true }).selectOption('move');
    await page.getByLabel('Action 1 column').selectOption(cols.done.id);
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByText(/this rule would set itself off again, in a loop: Done again → Done again/).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();

    // a run, and a failing one
    const t = await api('POST', `/api/v1/projects/${p.id}/tasks`,
      { title: 'Ship the release', priority: 'high', column_id: cols.todo.id });
    await api('PATCH', `/api/v1/tasks/${t.id}/move`, { column_id: cols.done.id });
    await api('PATCH', `/api/v1/columns/${cols.review.id}`, { wip_limit: 1 });
    await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: 'In review', column_id: cols.review.id });
    await api('POST', `/api/v1/projects/${p.id}/rules`, {
      name: 'Review what is flagged', trigger: { type: 'label_added', label: 'review' },
      actions: [{ type: 'move', column_id: cols.review.id }] });
    const f = await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: 'Check the docs', column_id: cols.todo.id });
    await api('PATCH', `/api/v1/tasks/${f.id}`, { labels: ['review'] });

    await page.reload();
    await page.locator('.rule-runs tr[data-status="succeeded"]', { hasText: 'Announce urgent work done' }).waitFor();
    const failed = page.locator('.rule-runs tr[data-status="failed"]', { hasText: 'Review what is flagged' });
    await failed.waitFor();
    assert.match(await failed.textContent(), /WIP limit/);
    await page.locator('.rule-runs').scrollIntoViewIfNeeded();
    await shot(page, 'rules-runs');
    const comments = await api('GET', `/api/v1/tasks/${t.id}/comments`);
    assert.deepEqual(comments.items.map((c) => c.body), ['Done: tell the customer.']);
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
