// The read-only page of a shared task, project or week's portfolio report:
// /shared/{code} reads
// /api/v1/shared/{code} with the grant cookie the short link gave, and
// shows it. Text goes in as text, never as HTML.
'use strict';

(function () {
  const main = document.getElementById('shared');
  const code = location.pathname.split('/').pop();

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) {
      if (c !== null && c !== undefined) {
        e.append(typeof c === 'string' ? c : c);
      }
    }
    return e;
  }

  function tags(list) {
    return (list || []).map((l) => el('span', { class: 'tag' }, String(l)));
  }

  function task(data) {
    const t = data.task;
    const facts = el('dl', {},
      el('dt', {}, 'Status'),
      el('dd', {}, t.column + (t.completed_at ? ' · done' : '')),
      el('dt', {}, 'Priority'), el('dd', {}, t.priority),
      el('dt', {}, 'Assignees'),
      el('dd', {}, t.assignees.length ? t.assignees.join(', ') : '—'),
      el('dt', {}, 'Dates'),
      el('dd', {}, (t.start_date || '…') + ' → ' + (t.due_date || '…')),
      el('dt', {}, 'Labels'), el('dd', {}, ...tags(t.labels)));
    const subtasks = t.subtasks.length
      ? el('ul', {}, ...t.subtasks.map((s) =>
          el('li', {}, s.key + ' ' + s.title + ' (' + s.category + ')')))
      : null;
    return [
      el('p', { class: 'muted' }, data.project.name + ' · ' + t.key),
      el('h1', {}, t.title),
      t.blocked ? el('p', { class: 'error' }, 'Blocked') : null,
      facts,
      t.description ? el('p', { class: 'description' }, t.description) : null,
      subtasks ? el('h2', {}, 'Subtasks') : null,
      subtasks,
    ];
  }

  function project(data) {
    const p = data.project;
    const board = el('div', { class: 'board' }, ...data.columns.map((c) =>
      el('section', { class: 'column' },
        el('h2', {}, c.name + ' · ' + c.tasks.length),
        ...c.tasks.map((t) => el('div', { class: 'card' },
          el('div', { class: 'muted' }, t.key),
          el('div', {}, t.title),
          el('div', {}, ...tags(t.labels)))))));
    return [
      el('p', { class: 'muted' }, p.key + ' · ' + p.status + ' · ' +
         p.progress + '% done'),
      el('h1', {}, p.name),
      p.description ? el('p', { class: 'description' }, p.description) : null,
      board,
    ];
  }

  const HEALTH = { on_track: 'On track', at_risk: 'At risk',
                   off_track: 'Off track' };

  function milestones(list) {
    return (list || []).map((m) => m.name + ' (' + m.due_date + ')')
      .join(', ') || '—';
  }

  // One section a project, as the report page prints it.
  function report(data) {
    const w = data.report;
    const sections = w.projects.map((p) => {
      const u = p.latest_update;
      const rate = p.utilisation.rate;
      return el('section', { class: 'report-project' },
        el('h2', {}, p.key + ' · ' + p.name + ' — ' +
           (HEALTH[p.health] || p.health)),
        el('dl', {},
          el('dt', {}, 'Progress'),
          el('dd', {}, p.progress.work_done_pct + '% done' +
             (p.progress.time_elapsed_pct === null ? ''
               : ', ' + p.progress.time_elapsed_pct + '% of the time')),
          el('dt', {}, 'Milestones done'),
          el('dd', {}, milestones(p.milestones.done)),
          el('dt', {}, 'Missed'), el('dd', {}, milestones(p.milestones.missed)),
          el('dt', {}, 'Next'), el('dd', {}, milestones(p.milestones.next)),
          el('dt', {}, 'This week'),
          el('dd', {}, p.changes.tasks_done + ' tasks done, ' +
             p.changes.tasks_created + ' created'),
          el('dt', {}, 'Utilisation'),
          el('dd', {}, rate === null ? '—' : Math.round(rate * 100) + '%')),
        p.top_risks.length ? el('h3', {}, 'Top risks') : null,
        p.top_risks.length
          ? el('ul', {}, ...p.top_risks.map((t) => el('li', {}, t))) : null,
        u ? el('h3', {}, 'Latest update') : null,
        u ? el('p', { class: 'description' }, u.text) : null);
    });
    return [
      el('p', { class: 'muted' }, w.from + ' → ' + w.to +
         (w.frozen ? ' · final' : ' · live, this week')),
      el('h1', {}, 'Portfolio report ' + w.week),
      ...(sections.length ? sections
        : [el('p', {}, 'No active projects this week.')]),
    ];
  }

  function show(parts) {
    main.replaceChildren(...parts.filter((p) => p !== null));
  }

  fetch('/api/v1/shared/' + encodeURIComponent(code),
        { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    .then((r) => r.json().then((body) => ({ status: r.status, body })))
    .then(({ status, body }) => {
      if (status === 200) {
        document.title = (body.task ? body.task.title
          : body.report ? 'Portfolio report ' + body.report.week
          : body.project.name) + ' · shared';
        show(body.type === 'task' ? task(body)
          : body.type === 'report' ? report(body) : project(body));
      } else if (status === 401) {
        location.replace('/s/' + encodeURIComponent(code));
      } else {
        show([el('h1', {}, status === 410 ? 'Link expired' : 'Not found'),
              el('p', {}, body.detail || body.title || '')]);
      }
    })
    .catch(() => show([el('p', { class: 'error' },
                          'The page could not be loaded.')]));
})();
