// The executive dashboard: projects by status and health, progress against time,
// overdue and blocked work, the rule-based risk flags, milestones, and the
// latest insights with a button that asks for a new analysis.
import { Link } from 'react-router-dom';
import { read } from '../api/client';
import { PortfolioInsights } from './PortfolioInsights';
import type { PortfolioMilestone, Project } from '../api/types';
import { BarList, Donut } from '../ui/charts';
import { label, longDate, parseDate, shortDate, today } from '../ui/format';
import { Empty, ErrorNote, Progress, Spinner, useLoad } from '../ui/kit';
import { HealthPill } from './ProjectHealth';
import { BudgetLine } from './BudgetLine';

const STATUS_COLOR: Record<string, string> = { active: '#10b981', planning: '#4f46e5', on_hold: '#f59e0b', completed: '#64748b', cancelled: '#ef4444' };

function timeGone(p: Pick<Project, 'start_date' | 'due_date'>) {
  if (!p.start_date || !p.due_date) return null;
  const s = parseDate(p.start_date).getTime(), e = parseDate(p.due_date).getTime(), n = parseDate(today()).getTime();
  if (e <= s) return null;
  return Math.max(0, Math.min(100, Math.round(((n - s) / (e - s)) * 100)));
}

export default function Portfolio() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/portfolio/overview', {}, { signal: s }), []);
  // budgets come with the projects, for their managers and admins only
  const projects = useLoad((s) => read('/api/v1/projects', {}, { query: { limit: 200 }, signal: s }), []);
  const budgets = new Map((projects.data?.items || []).filter((p) => p.budget).map((p) => [p.id, p.budget!]));
  if (loading && !data) return <div className="page"><h1>Portfolio</h1><Spinner /></div>;
  if (!data) return <div className="page"><h1>Portfolio</h1><ErrorNote error={error} onRetry={reload} /></div>;
  const ps = data.projects;
  const atRisk = ps.filter((p) => p.health !== 'on_track').length;
  const overdue = ps.reduce((a, p) => a + p.overdue_tasks, 0);
  const blocked = ps.reduce((a, p) => a + p.blocked_tasks, 0);
  const avg = ps.length ? Math.round(ps.reduce((a, p) => a + p.progress, 0) / ps.length) : 0;
  return (
    <div className="page">
      <div className="page-head"><h1>Portfolio</h1><div className="row"><Link className="btn small" to="/portfolio/timeline">Timeline</Link><Link className="btn small" to="/portfolio/report">Weekly report</Link><button type="button" className="btn small" onClick={reload}>Refresh</button></div></div>
      <ErrorNote error={error} />
      {ps.length === 0 ? <Empty title="No projects yet.">When projects exist, their progress and risks show here.</Empty> : (
        <>
          <div className="tiles">
            <div className="tile"><b>{ps.length}</b><span>Projects</span></div>
            <div className={atRisk ? 'tile bad' : 'tile'}><b>{atRisk}</b><span>At risk</span></div>
            <div className="tile"><b>{avg}%</b><span>Average progress</span></div>
            <div className={overdue ? 'tile bad' : 'tile'}><b>{overdue}</b><span>Overdue tasks</span></div>
            <div className="tile"><b>{blocked}</b><span>Blocked tasks</span></div>
          </div>
          <div className="dash-grid">
            <div className="box">
              <Donut title="Projects by status" data={Object.entries(data.projects_by_status).map(([k, v]) => ({ label: label(k), value: v, color: STATUS_COLOR[k] }))} />
            </div>
            <div className="box">
              <BarList title="Progress by project (%)" unit="%" max={100}
                data={ps.map((p) => ({ label: p.key, hint: p.name, value: p.progress, color: p.risk_flags.length ? '#f59e0b' : undefined }))} />
            </div>
            <div className="box">
              <BarList title="Overdue tasks by project" empty="Nothing is overdue." data={ps.map((p) => ({ label: p.key, hint: p.name, value: p.overdue_tasks, color: '#ef4444' }))} />
            </div>
          </div>
          <div className="table-wrap">
            <table className="data">
              <caption className="sr-only">Projects with their progress and risks</caption>
              <thead><tr><th>Project</th><th>Health</th><th>Status</th><th>Progress</th><th>Time gone</th><th className="num">Overdue</th><th className="num">Blocked</th><th>Due</th>{budgets.size > 0 && <th>Budget</th>}<th>Risks</th></tr></thead>
              <tbody>
                {ps.map((p) => {
                  const gone = timeGone(p);
                  return (
                    <tr key={p.id}>
                      <td><Link to={`/projects/${p.id}`}>{p.name}</Link> <span className="key">{p.key}</span></td>
                      <td><Link to={`/projects/${p.id}/health`} aria-label={`${p.name} health: ${label(p.health)}`}><HealthPill health={p.health} /></Link></td>
                      <td><span className={`status-pill ${p.status}`}>{label(p.status)}</span></td>
                      <td className="progress-cell"><span className="row"><Progress value={p.progress} label={`${p.name} progress`} /> {p.progress}%</span></td>
                      <td>{gone == null ? '—' : `${gone}%`}</td>
                      <td className="num">{p.overdue_tasks}</td>
                      <td className="num">{p.blocked_tasks}</td>
                      <td>{longDate(p.due_date) || '—'}</td>
                      {budgets.size > 0 && <td>{budgets.has(p.id) ? <BudgetLine b={budgets.get(p.id)!} /> : <span className="muted">None</span>}</td>}
                      <td>{p.risk_flags.length === 0 ? <span className="muted">None</span>
                        : p.risk_flags.map((f) => <span key={f.rule} className="flag bad" title={f.detail}>⚠ {label(f.rule)}: {f.detail}</span>)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <div className="dash-grid" style={{ marginTop: '1rem' }}>
            <div className="box">
              <h3>Upcoming milestones</h3>
              <MilestoneList items={data.upcoming_milestones} empty="No milestone ahead." />
            </div>
            <div className="box">
              <h3>Recent milestones</h3>
              <MilestoneList items={data.recent_milestones} empty="No milestone in the last weeks." />
            </div>
          </div>
          <PortfolioInsights />
        </>
      )}
    </div>
  );
}

function MilestoneList({ items, empty }: { items: PortfolioMilestone[]; empty: string }) {
  if (!items.length) return <p className="muted small">{empty}</p>;
  return (
    <ul className="milestones">
      {items.map((m) => (
        <li key={m.id}>
          <span className="ms-dot" aria-hidden="true">◆</span>
          <span className="key">{m.project_key}</span> {m.name}
          <span className="muted small">{shortDate(m.due_date)}</span>
          <span className={`status-pill ${m.status}`}>{label(m.status)}</span>
        </li>
      ))}
    </ul>
  );
}
