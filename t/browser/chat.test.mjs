// Chat in a real browser (Debian's Chromium, headless, playwright-core),
// two people in two browser contexts at once: the admin and Carl of
// t/browser.t's workspace. What one writes reaches the other's open page
// live through the event stream, unread badges count and clear, a thread
// opens beside the channel, @ offers the channel's people, a task's key
// shows as the task, a private channel never shows to a non-member, and a
// browser that was offline catches up (Last-Event-ID) without a reload.
// Screenshots in t/browser/screenshots/ (chat-*.png).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, CARL, PASSWORD, assertClean as clean, call, fx, launch, made, open as openPage,
         runTag, shot, signIn } from './lib.mjs';

const run = runTag(4).toLowerCase();

let browser;

before(async () => {
  browser = await launch();
});

after(async () => { await browser?.close(); });

const login = async (email) => (await made(call(null, 'POST', '/api/v1/auth/login',
  { email, password: PASSWORD }), `login ${email}`));

const open = (viewport = { width: 1400, height: 860 }) => openPage(browser, { viewport });

// no uncaught exception, no CSP violation, no console error but the HTTP
// errors a flow expects (the refresh's 401 before sign-in; a dropped
// stream while offline)
const assertClean = (page, log, what, allowed = []) =>
  clean(page, log, what, (m) => [/status of 401/, ...allowed].some((re) => re.test(m.text)));

const message = (page, text) => page.locator('.chat-list .chat-msg', { hasText: text });


test('chat: two browsers, live messages with a mention and a task, unread ' +
     'badges, a thread, an edit, a private channel unseen, catching up ' +
     'after being offline', { timeout: 150_000 }, async () => {
  const admin = await login(ADMIN);
  const carl = await login(CARL);
  const room = await made(call(admin.access_token, 'POST', '/api/v1/chat/channels',
    { name: `launch-${run}`, member_ids: [carl.user.id] }), 'channel');
  const hidden = await made(call(admin.access_token, 'POST', '/api/v1/chat/channels',
    { name: `board-only-${run}`, private: true }), 'private channel');
  await made(call(admin.access_token, 'POST', `/api/v1/chat/channels/${hidden.id}/messages`,
    { body: 'nobody else reads this' }), 'private message');

  const a = await open();
  const c = await open();
  try {
    await signIn(a.page, ADMIN);
    await signIn(c.page, CARL);

    // Carl waits on the projects page: the Chat link counts
    await c.page.goto(`${fx.base}/projects`);
    await a.page.goto(`${fx.base}/chat/${room.id}`);
    await a.page.locator(`.chat-room[data-channel-id="${room.id}"]`).waitFor();

    // @ offers the channel's people; Enter picks
    const box = a.page.getByRole('textbox', { name: `Message #launch-${run}` });
    await box.click();
    await box.pressSequentially('Hello @car');
    const menu = a.page.getByRole('listbox', { name: 'People to mention' });
    await menu.getByRole('option', { name: /Carl Contributor/ }).waitFor();
    await shot(a.page, 'chat-mention');
    await box.press('Enter');
    assert.match(await box.inputValue(), /^Hello @carl\.contributor $/, 'the handle is inserted');
    await box.pressSequentially(`please look at ${fx.task.key}`);
    await box.press('Enter');

    // the admin's own page shows it, the task as its key and title
    const sent = message(a.page, 'please look at');
    await sent.waitFor();
    await sent.locator('.mention', { hasText: '@carl.contributor' }).waitFor();
    const ref = sent.locator('a.task-ref');
    assert.equal(await ref.locator('.task-ref-key').textContent(), fx.task.key);
    assert.equal(await ref.locator('.task-ref-title').textContent(), fx.task.title,
                 "the task's title, as text");

    // Carl's Chat link has counted it, live
    const badge = c.page.locator('a.nav-chat .count');
    await badge.waitFor();
    assert.equal(await badge.textContent(), '1', 'one unread');

    // Carl opens chat: the channel is listed with its badge; the private
    // one is not
    await c.page.locator('a.nav-chat').click();
    await c.page.locator('.chat-channels').waitFor();
    assert.equal(await c.page.locator('.chat-item', { hasText: `board-only-${run}` }).count(), 0,
                 'the private channel is not listed for Carl');
    await c.page.locator('.chat-item', { hasText: `launch-${run}` }).click();
    await message(c.page, 'please look at').waitFor();
    await badge.waitFor({ state: 'detached' });
    await shot(c.page, 'chat-full');

    // the admin writes again: it appears on Carl's open page without a
    // reload, and stays read
    await box.pressSequentially('Standup moved to 10:30');
    await box.press('Enter');
    await message(c.page, 'Standup moved to 10:30').waitFor();
    await c.page.waitForTimeout(500);
    assert.equal(await badge.count(), 0, 'a message on screen is read');

    // Carl replies in a thread; the admin sees the count live
    const first = message(c.page, 'please look at');
    await first.hover();
    await first.getByRole('button', { name: 'Reply in a thread' }).click();
    const reply = c.page.getByRole('textbox', { name: 'Reply in the thread…' });
    await reply.pressSequentially('On it, will report back');
    await reply.press('Enter');
    await c.page.locator('.chat-thread .chat-msg', { hasText: 'On it' }).waitFor();
    await sent.locator('.thread-link', { hasText: '1 reply' }).waitFor();
    await shot(c.page, 'chat-thread');

    // the admin edits the message: Carl sees the new text, marked edited
    const standup = message(a.page, 'Standup moved to 10:30');
    await standup.hover();
    await standup.getByRole('button', { name: 'Edit' }).click();
    const edit = a.page.getByRole('textbox', { name: 'Edit the message' });
    await edit.fill('Standup moved to 11:00');
    await edit.press('Enter');
    const edited = message(c.page, 'Standup moved to 11:00');
    await edited.waitFor();
    await edited.getByText('(edited)').waitFor();

    // Carl goes offline; the admin writes; back online, Carl's stream
    // resumes from its last event and the message appears
    await c.context.setOffline(true);
    await c.page.waitForTimeout(300);
    await made(call(admin.access_token, 'POST', `/api/v1/chat/channels/${room.id}/messages`,
      { body: 'Written while Carl was offline' }), 'offline message');
    await c.context.setOffline(false);
    await message(c.page, 'Written while Carl was offline').waitFor({ timeout: 40_000 });

    // nothing of the private channel reached Carl's page at any time
    assert.equal(await c.page.getByText('nobody else reads this').count(), 0);

    await assertClean(a.page, a.log, 'the admin');
    await assertClean(c.page, c.log, 'Carl', [/ERR_INTERNET_DISCONNECTED/, /Failed to fetch/, /network/i]);
  } finally {
    await a.context.close();
    await c.context.close();
  }
});


test('chat: the panel beside the board makes the project\'s channel and ' +
     'talks there', { timeout: 60_000 }, async () => {
  const admin = await login(ADMIN);
  const projects = await made(call(admin.access_token, 'GET', '/api/v1/projects?limit=200'), 'projects');
  const project = projects.items.find((p) => p.name === fx.project.name);
  assert.ok(project, 'the fixture project');

  const a = await open();
  try {
    await signIn(a.page, ADMIN);
    await a.page.goto(`${fx.base}/projects/${project.id}/board`);
    await a.page.locator('.board').waitFor();
    await a.page.getByRole('button', { name: /^Chat/ }).click();
    const panel = a.page.getByRole('complementary', { name: 'Project chat' });
    await panel.waitFor();
    const make = panel.getByRole('button', { name: /^Create #/ });
    if (await make.count()) {
      await make.click();
      await a.page.getByRole('button', { name: 'Create channel' }).click();
    }
    const box = panel.getByRole('textbox', { name: /^Message #/ });
    await box.pressSequentially(`Board check: ${fx.task.key} is blocked`);
    await box.press('Enter');
    await panel.locator('.chat-msg', { hasText: 'Board check' }).locator('a.task-ref').waitFor();
    // the board is still there beside it
    assert.ok(await a.page.locator('.board').isVisible(), 'the board stays in view');
    await shot(a.page, 'chat-board-panel');
    await assertClean(a.page, a.log, 'the board with chat');
  } finally {
    await a.context.close();
  }

  // on a phone: the channels above, the conversation below
  const m = await open({ width: 375, height: 740 });
  try {
    await signIn(m.page, ADMIN);
    await m.page.goto(`${fx.base}/chat`);
    await m.page.locator('.chat-room').waitFor();
    await m.page.locator('.chat-list .chat-msg').first().waitFor();
    await shot(m.page, 'chat-375');
    await assertClean(m.page, m.log, 'chat on a phone');
  } finally {
    await m.context.close();
  }
});
