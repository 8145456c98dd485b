// The project's timeline: a Gantt chart of tasks (start to due, progress
// filled in), milestones as diamonds, dependencies as arrows, today.
import { useMemo } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { read } from '../api/client';
import type { TimelineTask } from '../api/types';
import { addDays, longDate, parseDate, shortDate, today } from '../ui/format';
import { Empty, ErrorNote, Spinner, useLoad } from '../ui/kit';
import { ProjectTabs } from './ProjectTabs';

const ROW = 28, LEFT = 260, TOP = 44;

export default function Timeline() {
  const { id } = useParams();
  const nav = useNavigate();
  const { data, error, reload } = useLoad((s) => read('/api/v1/projects/{id}/timeline', { id: id! }, { signal: s }), [id]);

  const layout = useMemo(() => {
    if (!data) return null;
    const dated = data.tasks.filter((t) => t.due_date || t.start_date);
    const dates = [
      ...dated.flatMap((t) => [t.start_date, t.due_date]), ...data.milestones.map((m) => m.due_date),
      data.project.start_date, data.project.due_date, today(),
    ].filter(Boolean) as string[];
    if (!dates.length) return null;
    dates.sort();
    const from = addDays(dates[0], -3), to = addDays(dates[dates.length - 1], 7);
    const days = Math.round((parseDate(to).getTime() - parseDate(from).getTime()) / 86400000);
    // a day's width: the whole range in about 1100 px, 3 to 16 px a day
    const DAY = Math.max(3, Math.min(16, Math.floor(1100 / Math.max(1, days))));
    const x = (d: string) => LEFT + Math.round((parseDate(d).getTime() - parseDate(from).getTime()) / 86400000) * DAY;
    const rows = dated.sort((a, b) => (a.start_date || a.due_date!).localeCompare(b.start_date || b.due_date!));
    const index = new Map(rows.map((t, i) => [t.id, i]));
    return { from, to, days, x, rows, index, DAY, undated: data.tasks.length - dated.length };
  }, [data]);

  if (error && !data) return <div className="page"><ErrorNote error={error} onRetry={reload} /></div>;
  if (!data) return <div className="page"><Spinner /></div>;

  return (
    <div className="page board-page">
      <ProjectTabs project={data.project} tab="timeline" />
      {!layout ? <Empty title="Nothing to draw yet.">Give tasks a start or due date and they appear on the timeline.</Empty> : (() => {
        const { days, x, rows, index, from, DAY } = layout;
        const width = LEFT + days * DAY + 20, height = TOP + rows.length * ROW + 20;
        const months: { d: string; label: string }[] = [];
        for (let i = 0; i <= days; i++) {
          const d = addDays(from, i);
          if (d.endsWith('-01') || i === 0) months.push({ d, label: new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric' }).format(parseDate(d)) });
        }
        const start = (t: TimelineTask) => t.start_date || addDays(t.due_date!, -1);
        const end = (t: TimelineTask) => addDays(t.due_date || t.start_date!, 1);
        return (
          <>
            <p className="muted small">{rows.length} tasks with dates{layout.undated ? `, ${layout.undated} without (not drawn)` : ''}; ◆ milestones; arrows run from a task to the ones waiting for it.</p>
            <div className="gantt">
              <svg width={width} height={height} role="img" aria-label={`Timeline of ${data.project.name}`}>
                {months.map((m) => (
                  <g key={m.d}>
                    <line x1={x(m.d)} x2={x(m.d)} y1={0} y2={height} className="row-line" />
                    <text x={x(m.d) + 4} y={14}>{m.label}</text>
                  </g>
                ))}
                {data.milestones.map((m) => (
                  <g key={m.id} transform={`translate(${x(m.due_date) + DAY / 2}, 30)`}>
                    <path d="M0 -7 L7 0 L0 7 L-7 0 Z" className="ms"><title>{m.name}: {longDate(m.due_date)} ({m.status})</title></path>
                    <line x1={0} x2={0} y1={8} y2={height} className="dep" strokeDasharray="2 4" />
                  </g>
                ))}
                <line x1={x(today())} x2={x(today())} y1={20} y2={height} className="today-line" />
                {rows.map((t, i) => {
                  const y = TOP + i * ROW;
                  const x0 = x(start(t)), x1 = x(end(t)), w = Math.max(DAY, x1 - x0);
                  return (
                    <g key={t.id} className="gantt-row" onClick={() => nav(`/tasks/${t.id}`)} style={{ cursor: 'pointer' }}>
                      <line x1={0} x2={width} y1={y + ROW} y2={y + ROW} className="row-line" />
                      <text x={8} y={y + 18}><tspan className="key" fill="#6b7280">{t.key}</tspan> {t.title.length > 28 ? t.title.slice(0, 27) + '…' : t.title}</text>
                      <rect x={x0} y={y + 6} width={w} height={ROW - 12} rx={4}
                        className={t.category === 'done' ? 'bar-done' : t.blocked ? 'bar-blocked' : 'bar-bg'}>
                        <title>{t.key} {t.title}: {shortDate(start(t))} → {shortDate(t.due_date || t.start_date)} · {t.progress}%</title>
                      </rect>
                      {t.category !== 'done' && t.progress > 0 && <rect x={x0} y={y + 6} width={(w * t.progress) / 100} height={ROW - 12} rx={4} className="bar-fg" />}
                    </g>
                  );
                })}
                <defs>
                  <marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto">
                    <path d="M0 0 L8 4 L0 8 Z" fill="#94a3b8" />
                  </marker>
                </defs>
                {rows.flatMap((t) => t.dependencies.filter((d) => index.has(d)).map((d) => {
                  const from = rows[index.get(d)!];
                  const ax = x(end(from)), ay = TOP + index.get(d)! * ROW + ROW / 2;
                  const bx = x(start(t)), by = TOP + index.get(t.id)! * ROW + ROW / 2;
                  const mid = Math.max(ax + 8, bx - 8);
                  return <path key={`${d}-${t.id}`} d={`M${ax} ${ay} H${mid} V${by} H${bx}`} className="dep" markerEnd="url(#arrow)" />;
                }))}
              </svg>
            </div>
            <p className="muted small">Today: {longDate(today())}</p>
          </>
        );
      })()}
    </div>
  );
}
