// The portfolio timeline in a real browser (issue 24): Debian's Chromium,
// headless, driven by playwright-core against the nginx that t/browser.t
// started. Three projects chained by links across them (the chain of
// t/portfolio_timeline.t, in 2031 so that it ends the portfolio), a
// baseline, then the first task two days longer (the chain shifted by
// two, confirmed): the page draws the chain
// in red (the critical path), the links that cross projects dashed, the
// baseline bars, and the slippage; kept as
// t/browser/screenshots/portfolio-timeline.png, to be looked at.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fx, runTag, session, SHOTS } from './lib.mjs';

const run = runTag();
const { api: made, signedIn } = session();


test('the portfolio timeline draws the links, the critical path and the baseline', async () => {
  const ids = {};
  for (const [key, name, title, from, due] of [
    ['TLA', 'Data centre exit', 'Order servers', '03-01', '03-05'],
    ['TLB', 'Platform', 'Install platform', '03-08', '03-10'],
    ['TLC', 'Payments', 'Migrate payments', '03-11', '03-15'],
  ]) {
    const p = await made('POST', '/api/v1/projects', { key: `${key}${run}`, name: `${name} ${run}`, status: 'active' });
    ids[key] = (await made('POST', `/api/v1/projects/${p.id}/tasks`,
      { title, start_date: `2031-${from}`, due_date: `2031-${due}` })).id;
  }
  await made('POST', `/api/v1/tasks/${ids.TLB}/predecessors`, { depends_on_id: ids.TLA, lag_days: 2 });
  await made('POST', `/api/v1/tasks/${ids.TLC}/predecessors`, { depends_on_id: ids.TLB });
  await made('POST', '/api/v1/portfolio/baselines', { name: `Plan ${run}` });
  // the first task two days longer: the chain shifts by two, still tight
  await made('POST', `/api/v1/tasks/${ids.TLA}/reschedule`, { due_date: '2031-03-07' });

  const { context, page, errors } = await signedIn();
  try {
    await page.goto(`${fx.base}/portfolio`);
    await page.getByRole('link', { name: 'Timeline' }).click();
    await page.locator('svg[aria-label="Portfolio timeline"]').waitFor();

    for (const key of ['TLA', 'TLB', 'TLC']) {
      const row = page.locator(`g.gantt-row[data-key="${key}${run}-1"]`);
      assert.equal(await row.count(), 1, `${key}-1 is drawn`);
      assert.match(await row.getAttribute('class'), /critical/, `${key}-1 is on the critical path`);
      assert.equal(await row.locator('rect.bar-critical').count(), 1, `${key}-1 drawn red`);
      assert.equal(await row.locator('rect.bar-baseline').count(), 1, `${key}-1 has its baseline bar`);
    }
    // the shifted task's bar starts two days after its baseline's
    const moved = page.locator(`g.gantt-row[data-key="TLC${run}-1"]`);
    const bar = Number(await moved.locator('rect.bar-critical').getAttribute('x'));
    const base = Number(await moved.locator('rect.bar-baseline').getAttribute('x'));
    assert.ok(bar > base, `the bar (${bar}) after its baseline (${base})`);
    assert.ok(await page.locator('path.dep.dep-critical.dep-cross').count() >= 2,
      'the two links across projects, critical, dashed');
    assert.ok(await page.getByText('+2 d vs baseline').count() >= 1, 'the slippage of the last project');

    const png = join(SHOTS, 'portfolio-timeline.png');
    await page.screenshot({ path: png, fullPage: true });
    assert.ok(statSync(png).size > 10_000, 'a screenshot');
    assert.deepEqual(errors, [], 'no uncaught exception');
  } finally {
    await context.close();
  }
});
