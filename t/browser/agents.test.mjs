// AI agents in a real browser (issue 23): Debian's Chromium, headless,
// driven by playwright-core against the nginx that t/browser.t started.
//
// An admin adds an external agent in Admin → Agents, lets its token
// change the tasks delegated to it, and copies the token, shown once; in a
// task's panel the task is delegated to it ("Delegate"
// beside the assignees); the agent, played by node with that token, asks
// a question, which shows live in the session's timeline with its state;
// the admin answers in the answer box, the agent answers back and the
// session is complete; the agent then renames the task with its token
// through the normal API, and the panel shows it. Screenshots: agents-admin.png, agent-session.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fx, runTag, session, shot } from './lib.mjs';

const run = runTag();
const { admin, api, signedIn } = session();
const { call } = admin;

test('agents: added in Admin with its token shown once; a task delegated ' +
     'in its panel; the session\'s question, answer and end live',
     { timeout: 90_000 }, async () => {
  const key = `AG${run}`;
  const p = await api('POST', '/api/v1/projects', { name: `Agents ${run}`, key });
  const t = await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: 'Fix the flaky test' });

  const { context, page, errors } = await signedIn();
  try {
    await page.goto(`${fx.base}/admin/agents`);
    await page.getByRole('button', { name: 'Add agent' }).click();
    await page.getByLabel('Name').fill(`Coder ${run}`);
    await page.getByLabel('What its token may do').selectOption('write');
    await page.getByRole('button', { name: 'Add agent' }).last().click();
    const agentToken = (await page.getByTestId('agent-token').textContent()).trim();
    assert.match(agentToken, /^kbt_[0-9a-f]{64}$/, 'the token is shown');
    await page.locator('[data-agent-id]', { hasText: `Coder ${run}` }).waitFor();
    await shot(page, 'agents-admin');
    await page.getByRole('button', { name: 'I have copied them' }).click();
    const agents = await api('GET', '/api/v1/agents');
    const agent = agents.items.find((a) => a.name === `Coder ${run}`);
    assert.ok(agent, 'the agent is listed');
    assert.equal(agent.token, undefined, 'never with its token again');
    assert.deepEqual(agent.scopes, ['read', 'write'], 'its access as chosen');
    assert.equal(await page.locator('[data-agent-id]', { hasText: `Coder ${run}` })
      .getByTestId('agent-access').inputValue(), 'write', 'the list shows its access');

    await page.goto(`${fx.base}/tasks/${t.id}`);
    await page.getByLabel('Delegate to agent').selectOption(agent.id);
    const session = page.locator('.agent-session');
    await session.waitFor();
    assert.match(await session.getByTestId('agent-state').textContent(), /pending/i);
    const sid = await session.getAttribute('data-session-id');

    // the agent, with its own token, asks a question: live in the panel
    const asAgent = (body) => call('POST', `/api/v1/agent-sessions/${sid}/activities`, body,
      { Authorization: `Bearer ${agentToken}` });
    let r = await asAgent({ type: 'thought', body: 'Reading the failing test.' });
    assert.equal(r.status, 201, r.text);
    r = await asAgent({ type: 'elicitation', body: 'Retry in the test, or fix the clock?' });
    assert.equal(r.status, 201, r.text);
    await session.locator('.agent-activity.elicitation').waitFor();
    await page.getByLabel('Answer the agent').waitFor();
    assert.match(await session.getByTestId('agent-state').textContent(), /awaiting/i);
    await session.scrollIntoViewIfNeeded();
    await shot(page, 'agent-session');

    await page.getByLabel('Answer the agent').fill('Fix the clock.');
    await page.getByRole('button', { name: 'Answer', exact: true }).click();
    await session.locator('.agent-activity.prompt', { hasText: 'Fix the clock.' }).waitFor();
    r = await asAgent({ type: 'response', body: 'Fixed: the clock is injected.' });
    assert.equal(r.status, 201, r.text);
    await session.locator('.agent-activity.response').waitFor();
    await page.waitForFunction(() =>
      /complete/i.test(document.querySelector('[data-testid="agent-state"]')?.textContent || ''));

    // with write, the agent changes its task through the normal API
    r = await call('PATCH', `/api/v1/tasks/${t.id}`, { title: 'Fix the clock in the flaky test' },
      { Authorization: `Bearer ${agentToken}` });
    assert.equal(r.status, 200, r.text);
    await page.getByText('Fix the clock in the flaky test').first().waitFor();
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});

test('agents: a built-in agent delegated in the panel starts on its own, ' +
     'and its answer shows live', { timeout: 60_000 }, async () => {
  const key = `TR${run}`;
  const p = await api('POST', '/api/v1/projects', { name: `Triage ${run}`, key });
  const t = await api('POST', `/api/v1/projects/${p.id}/tasks`, { title: 'Login fails at midnight' });
  const agent = await api('POST', '/api/v1/agents', { name: `Triage ${run}`, kind: 'builtin', builtin: 'triage' });

  const { context, page, errors } = await signedIn();
  try {
    await page.goto(`${fx.base}/tasks/${t.id}`);
    await page.getByLabel('Delegate to agent').selectOption(agent.id);
    const session = page.locator('.agent-session');
    await session.waitFor();
    // nobody reads the sessions again: the sweep starts the agent, and
    // its first activity (a proposal, or why it cannot make one: the
    // workspace's model as the other tests left it) comes on the stream
    await session.locator('.agent-activity').first().waitFor({ timeout: 20_000 });
    assert.doesNotMatch(await session.getByTestId('agent-state').textContent(), /pending/i,
      'the session has left pending');
    await session.scrollIntoViewIfNeeded();
    await shot(page, 'agent-triage');
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
