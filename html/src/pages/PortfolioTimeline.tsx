// The portfolio's timeline: every project's dated tasks in one Gantt chart,
// grouped by project; the links between tasks (dashed when they cross
// projects), the critical path in red, each task's baseline as a thin bar
// under it, and each project's slippage against its baseline.
import { useMemo } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { read } from '../api/client';
import type { Schema } from '../api/types';
import { addDays, longDate, parseDate, shortDate, today } from '../ui/format';
import { Empty, ErrorNote, Spinner, useLoad } from '../ui/kit';

type Task = Schema<'PortfolioTimeline'>['projects'][number]['tasks'][number];
type Row = { kind: 'project'; key: string; name: string; slip: number | null | undefined } | { kind: 'task'; task: Task };

const ROW = 28, LEFT = 280, TOP = 30;

export default function PortfolioTimeline() {
  const nav = useNavigate();
  const { data, error, reload } = useLoad((s) => read('/api/v1/portfolio/timeline', {}, { signal: s }), []);

  const layout = useMemo(() => {
    if (!data) return null;
    const rows: Row[] = [];
    const dates: string[] = [];
    for (const p of data.projects) {
      const tasks = p.tasks.filter((t) => t.due_date);
      if (!tasks.length) continue;
      rows.push({ kind: 'project', key: p.key, name: p.name, slip: p.slippage?.slip_days });
      for (const t of tasks) {
        rows.push({ kind: 'task', task: t });
        dates.push(t.start_date || t.due_date!, t.due_date!);
        if (t.baseline_due_date) dates.push(t.baseline_start_date || t.baseline_due_date, t.baseline_due_date);
      }
    }
    if (rows.length === 0) return null;
    dates.sort();
    // today widens the range only when it is near the work: a plan years
    // ahead is drawn at its own scale, not squeezed beside today
    const now = today(), near = 60;
    if (now >= addDays(dates[0], -near) && now <= addDays(dates[dates.length - 1], near)) {
      dates.push(now);
      dates.sort();
    }
    const from = addDays(dates[0], -2), to = addDays(dates[dates.length - 1], 4);
    const days = Math.round((parseDate(to).getTime() - parseDate(from).getTime()) / 86400000);
    const DAY = Math.max(3, Math.min(24, Math.floor(1000 / Math.max(1, days))));
    const x = (d: string) => LEFT + Math.round((parseDate(d).getTime() - parseDate(from).getTime()) / 86400000) * DAY;
    const index = new Map<string, number>();
    rows.forEach((r, i) => { if (r.kind === 'task') index.set(r.task.id, i); });
    return { rows, days, x, index, DAY, from };
  }, [data]);

  if (error && !data) return <div className="page"><ErrorNote error={error} onRetry={reload} /></div>;
  if (!data) return <div className="page"><Spinner /></div>;

  const head = (
    <div className="page-head"><h1>Portfolio timeline</h1>
      <div className="row"><Link className="btn small" to="/portfolio">Portfolio</Link><button type="button" className="btn small" onClick={reload}>Refresh</button></div>
    </div>
  );
  if (!layout) return <div className="page">{head}<Empty title="Nothing to draw yet.">Give tasks a due date and they appear on the timeline.</Empty></div>;

  const { rows, days, x, index, DAY } = layout;
  const width = LEFT + days * DAY + 20, height = TOP + rows.length * ROW + 10;
  const start = (t: { start_date?: string | null; due_date?: string | null }) => t.start_date || t.due_date!;
  const end = (d: string) => addDays(d, 1);
  return (
    <div className="page board-page">
      {head}
      <p className="muted small">Red: the critical path (no slack before {data.finish ? longDate(data.finish) : '—'}). Dashed arrows cross projects. The thin grey bar under a task is its baseline.</p>
      <div className="gantt portfolio-gantt">
        <svg width={width} height={height} role="img" aria-label="Portfolio timeline">
          <defs>
            <marker id="pt-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0 L8 4 L0 8 Z" fill="#94a3b8" /></marker>
            <marker id="pt-arrow-crit" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0 L8 4 L0 8 Z" fill="#dc2626" /></marker>
          </defs>
          {today() >= layout.from && x(today()) <= width && <line x1={x(today())} x2={x(today())} y1={0} y2={height} className="today-line" />}
          {rows.map((r, i) => {
            const y = TOP + i * ROW;
            if (r.kind === 'project') {
              return (
                <g key={`p-${r.key}`} className="pt-project">
                  <text x={8} y={y + 18} fontWeight={600}>{r.key} · {r.name}</text>
                  {r.slip != null && <text x={LEFT + 8} y={y + 18} className={r.slip > 0 ? 'pt-slip late' : 'pt-slip'}>{r.slip > 0 ? `+${r.slip} d vs baseline` : 'on baseline'}</text>}
                </g>
              );
            }
            const t = r.task;
            const x0 = x(start(t)), w = Math.max(DAY, x(end(t.due_date!)) - x0);
            return (
              <g key={t.id} className={`gantt-row${t.critical ? ' critical' : ''}`} data-key={t.key} onClick={() => nav(`/tasks/${t.id}`)} style={{ cursor: 'pointer' }}>
                <line x1={0} x2={width} y1={y + ROW} y2={y + ROW} className="row-line" />
                <text x={20} y={y + 18}><tspan className="key" fill="#6b7280">{t.key}</tspan> {t.title.length > 26 ? t.title.slice(0, 25) + '…' : t.title}</text>
                {t.baseline_due_date && (
                  <rect x={x(start({ start_date: t.baseline_start_date, due_date: t.baseline_due_date }))} y={y + ROW - 7} height={4} rx={2}
                    width={Math.max(DAY, x(end(t.baseline_due_date)) - x(start({ start_date: t.baseline_start_date, due_date: t.baseline_due_date })))} className="bar-baseline">
                    <title>Baseline: {shortDate(t.baseline_start_date || t.baseline_due_date)} → {shortDate(t.baseline_due_date)}</title>
                  </rect>
                )}
                <rect x={x0} y={y + 5} width={w} height={ROW - 14} rx={4} className={t.completed ? 'bar-done' : t.critical ? 'bar-critical' : 'bar-bg'}>
                  <title>{t.key} {t.title}: {shortDate(start(t))} → {shortDate(t.due_date)}{t.critical ? ' · critical' : ''}</title>
                </rect>
              </g>
            );
          })}
          {data.links.filter((l) => index.has(l.task_id) && index.has(l.depends_on_id)).map((l) => {
            const a = rows[index.get(l.depends_on_id)!] as { task: Task }, b = rows[index.get(l.task_id)!] as { task: Task };
            const ax = x(end(a.task.due_date!)), ay = TOP + index.get(l.depends_on_id)! * ROW + ROW / 2 - 2;
            const bx = x(start(b.task)), by = TOP + index.get(l.task_id)! * ROW + ROW / 2 - 2;
            const mid = Math.max(ax + 6, bx - 6);
            return (
              <path key={`${l.depends_on_id}-${l.task_id}`} d={`M${ax} ${ay} H${mid} V${by} H${bx}`}
                className={`dep${l.critical ? ' dep-critical' : ''}${l.cross_project ? ' dep-cross' : ''}`}
                markerEnd={l.critical ? 'url(#pt-arrow-crit)' : 'url(#pt-arrow)'}>
                <title>{l.lag_days ? `lag ${l.lag_days} d` : 'no lag'}</title>
              </path>
            );
          })}
        </svg>
      </div>
      <p className="muted small">Today: {longDate(today())}</p>
    </div>
  );
}
