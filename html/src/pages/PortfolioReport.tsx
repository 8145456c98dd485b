// The weekly status report, made to be printed: one section a project
// (its health, progress against plan as a chart, milestones, risks, the
// week's changes, its latest update, its team's utilisation), A4
// landscape with the print stylesheet; the browser's "Save as PDF" gives
// the committee its file. Last week's and older are frozen on the server.
import { lazy, Suspense, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { download, read, type ReadResult } from '../api/client';
import { BarList } from '../ui/charts';
import { label, longDate, shiftWeek, thisWeek } from '../ui/format';
import { ErrorNote, Spinner, useLoad } from '../ui/kit';
import { HealthPill } from './ProjectHealth';
import { BudgetLine } from './BudgetLine';
import { useAuth } from '../auth';

const ShareDialog = lazy(() => import('./ShareDialog'));

type Report = ReadResult<'/api/v1/portfolio/report'>;
type ReportProject = Report['projects'][number];

export default function PortfolioReport() {
  const [params, setParams] = useSearchParams();
  const week = params.get('week') || thisWeek();
  const { data, error, loading, reload } = useLoad(
    (s) => read('/api/v1/portfolio/report', {}, { query: { week }, signal: s }), [week]);
  const go = (n: number) => setParams({ week: shiftWeek(week, n) });
  const [sharing, setSharing] = useState(false);
  const role = useAuth().user?.role;
  const mayShare = role === 'admin' || role === 'project_manager';
  return (
    <div className="page report">
      <div className="page-head no-print">
        <h1>Weekly report</h1>
        <div className="row">
          <button type="button" className="btn small" onClick={() => go(-1)}>← Previous week</button>
          <button type="button" className="btn small" onClick={() => go(1)} disabled={week >= thisWeek()}>Next week →</button>
          <button type="button" className="btn small" onClick={() => download(`/api/v1/portfolio/report?week=${week}&format=csv`, `portfolio-${week}.csv`)}>CSV</button>
          {mayShare && <button type="button" className="btn small" onClick={() => setSharing(true)}>Share</button>}
          <button type="button" className="btn primary small" onClick={() => window.print()}>Print</button>
        </div>
      </div>
      {sharing && (
        <Suspense fallback={null}>
          <ShareDialog week={week} onClose={() => setSharing(false)} />
        </Suspense>
      )}
      {loading && !data ? <Spinner /> : !data ? <ErrorNote error={error} onRetry={reload} /> : (
        <>
          <header className="report-cover">
            <h1>Portfolio status, {data.week}</h1>
            <p>{longDate(data.from)} to {longDate(data.to)} · {data.projects.length} active projects ·{' '}
              {data.frozen ? 'final (the week has ended)' : 'in progress (the week has not ended)'}</p>
            <ul className="report-summary">
              {(['on_track', 'at_risk', 'off_track'] as const).map((h) => (
                <li key={h}><HealthPill health={h} /> {data.projects.filter((p) => p.health === h).length}</li>
              ))}
            </ul>
          </header>
          {data.projects.map((p) => <ProjectSection key={p.id} p={p} />)}
        </>
      )}
    </div>
  );
}

function ProjectSection({ p }: { p: ReportProject }) {
  const u = p.utilisation;
  return (
    <section className="report-project" aria-labelledby={`rp-${p.id}`}>
      <h2 id={`rp-${p.id}`}><Link to={`/projects/${p.id}/health`}>{p.name}</Link> <span className="key">{p.key}</span> <HealthPill health={p.health} /></h2>
      <div className="report-grid">
        <div>
          <BarList title="Progress against plan (%)" unit="%" max={100}
            data={[
              { label: 'Work done', value: p.progress.work_done_pct, color: '#4f46e5' },
              { label: 'Time gone', value: p.progress.time_elapsed_pct ?? 0, color: '#94a3b8' },
              { label: 'Utilisation', value: Math.round((u.rate ?? 0) * 100), color: (u.rate ?? 0) > 0.9 ? '#ef4444' : '#10b981' },
            ]} />
          <p className="small muted">Team logged {Math.round(u.logged_minutes / 60)} h of {Math.round(u.capacity_minutes / 60)} h this week.</p>
          {p.budget && <p className="small">Budget: <BudgetLine b={p.budget} /></p>}
        </div>
        <div>
          <h3>Risks</h3>
          {p.top_risks.length === 0 ? <p className="muted">None.</p> : <ul>{p.top_risks.map((r, i) => <li key={i}>{r}</li>)}</ul>}
          <h3>Milestones</h3>
          <ul className="report-ms">
            {p.milestones.done.map((m, i) => <li key={`d${i}`}>✔ {String(m.name)} <span className="muted small">{longDate(String(m.due_date))}</span></li>)}
            {p.milestones.missed.map((m, i) => <li key={`m${i}`} className="bad">✘ {String(m.name)} <span className="muted small">{longDate(String(m.due_date))}</span></li>)}
            {p.milestones.next.map((m, i) => <li key={`n${i}`}>→ {String(m.name)} <span className="muted small">{longDate(String(m.due_date))}</span></li>)}
            {p.milestones.done.length + p.milestones.missed.length + p.milestones.next.length === 0 && <li className="muted">None.</li>}
          </ul>
        </div>
        <div>
          <h3>This week</h3>
          <p>{p.changes.tasks_done ?? 0} tasks done, {p.changes.tasks_created ?? 0} created, {p.changes.writes ?? 0} changes.
            {(p.changes.health ?? []).map((c, i) => <span key={i}> Health {label(String(c.from))} → {label(String(c.to))}.</span>)}</p>
          <h3>Latest update</h3>
          {p.latest_update ? <p className="update-text">{p.latest_update.text} <span className="muted small">({p.latest_update.author?.name || 'someone'}, {p.latest_update.week})</span></p>
            : <p className="muted">No update.</p>}
        </div>
      </div>
    </section>
  );
}
