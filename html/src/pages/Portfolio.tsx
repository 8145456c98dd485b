// The executive dashboard: projects by status and health, progress against time,
// overdue and blocked work, the rule-based risk flags, milestones, and the
// latest insights with a button that asks for a new analysis.
import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, errorMessage, get, post, read } from '../api/client';
import type { PortfolioMilestone, Project } from '../api/types';
import { BarChart, Donut } from '../ui/charts';
import { label, longDate, parseDate, shortDate, today } from '../ui/format';
import { Empty, ErrorNote, Progress, Spinner, useLoad } from '../ui/kit';
import { HealthPill } from './ProjectHealth';

const STATUS_COLOR: Record<string, string> = { active: '#10b981', planning: '#4f46e5', on_hold: '#f59e0b', completed: '#64748b', cancelled: '#ef4444' };

function timeGone(p: Pick<Project, 'start_date' | 'due_date'>) {
  if (!p.start_date || !p.due_date) return null;
  const s = parseDate(p.start_date).getTime(), e = parseDate(p.due_date).getTime(), n = parseDate(today()).getTime();
  if (e <= s) return null;
  return Math.max(0, Math.min(100, Math.round(((n - s) / (e - s)) * 100)));
}

export default function Portfolio() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/portfolio/overview', {}, { signal: s }), []);
  if (loading && !data) return <div className="page"><h1>Portfolio</h1><Spinner /></div>;
  if (!data) return <div className="page"><h1>Portfolio</h1><ErrorNote error={error} onRetry={reload} /></div>;
  const ps = data.projects;
  const atRisk = ps.filter((p) => p.health !== 'on_track').length;
  const overdue = ps.reduce((a, p) => a + p.overdue_tasks, 0);
  const blocked = ps.reduce((a, p) => a + p.blocked_tasks, 0);
  const avg = ps.length ? Math.round(ps.reduce((a, p) => a + p.progress, 0) / ps.length) : 0;
  return (
    <div className="page">
      <div className="page-head"><h1>Portfolio</h1><div className="row"><Link className="btn small" to="/portfolio/report">Weekly report</Link><button type="button" className="btn small" onClick={reload}>Refresh</button></div></div>
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
              <BarChart title="Progress by project (%)" unit="%" max={100}
                data={ps.map((p) => ({ label: p.key, value: p.progress, color: p.risk_flags.length ? '#f59e0b' : undefined }))} />
            </div>
            <div className="box">
              <BarChart title="Overdue tasks by project" data={ps.map((p) => ({ label: p.key, value: p.overdue_tasks, color: '#ef4444' }))} />
            </div>
          </div>
          <div className="table-wrap">
            <table className="data">
              <caption className="sr-only">Projects with their progress and risks</caption>
              <thead><tr><th>Project</th><th>Health</th><th>Status</th><th>Progress</th><th>Time gone</th><th className="num">Overdue</th><th className="num">Blocked</th><th>Due</th><th>Risks</th></tr></thead>
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
            <Insights />
          </div>
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

// Hand-written: /api/v1/insights/* is in API.md but neither in the OpenAPI
// document nor on the server yet (a 404 shows "not available"). `result`
// is the analysis as the model or the rules wrote it: read with care.
type Insight = {
  id: string; status: 'pending' | 'running' | 'completed' | 'failed';
  result: unknown; model?: string | null; created_at?: string; completed_at?: string | null;
};

function InsightResult({ r }: { r: unknown }) {
  if (typeof r === 'string') return <p>{r}</p>;
  if (r === null || typeof r !== 'object') return null;
  const o: Record<string, unknown> = { ...r };
  const summary = typeof o.summary === 'string' ? o.summary : '';
  const risks = Array.isArray(o.risks) ? o.risks : null;
  const riskText = (x: unknown) => {
    if (typeof x === 'string') return x;
    if (x && typeof x === 'object') {
      const f: Record<string, unknown> = { ...x };
      for (const k of ['detail', 'title']) if (typeof f[k] === 'string') return String(f[k]);
    }
    return JSON.stringify(x);
  };
  return (
    <>
      {summary && <p>{summary}</p>}
      {risks && <ul>{risks.map((x, i) => <li key={i}>{riskText(x)}</li>)}</ul>}
      {!summary && !risks && <pre className="small">{JSON.stringify(r, null, 2)}</pre>}
    </>
  );
}

function Insights() {
  const [job, setJob] = useState<Insight | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    if (!job || job.status === 'completed' || job.status === 'failed') return;
    const t = setTimeout(() => {
      get<Insight>(`/api/v1/insights/analyze/${job.id}`).then(setJob, setError);
    }, 1500);
    return () => clearTimeout(t);
  }, [job]);
  const ask = async () => {
    setError(null);
    try {
      setJob(await post<Insight>('/api/v1/insights/analyze', { project_id: 'portfolio', kind: 'executive_summary' }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setMissing(true); else setError(e);
    }
  };
  return (
    <div className="box">
      <div className="row between"><h3>Insights</h3>
        <button type="button" className="btn small" onClick={ask} disabled={missing || (!!job && job.status !== 'completed' && job.status !== 'failed')}>
          {job && job.status !== 'completed' && job.status !== 'failed' ? 'Analysing…' : 'New analysis'}
        </button>
      </div>
      {error ? <p className="error-note">{errorMessage(error)}</p> : null}
      {missing && <p className="muted small">Insights are not available on this server yet; the risk flags above are the rule-based part.</p>}
      {!job && !missing && <p className="muted small">Ask for an executive summary of the whole portfolio: the rule-based risks, and a language model's reading when one is configured.</p>}
      {job && job.status !== 'completed' && job.status !== 'failed' && <Spinner label="The analysis runs…" />}
      {job?.status === 'failed' && <p className="error-note">The analysis failed. Try again later.</p>}
      {job?.status === 'completed' && (
        <div className="small">
          <InsightResult r={job.result} />
          <p className="muted">{job.model ? `Model: ${job.model}` : 'Rule-based'}</p>
        </div>
      )}
    </div>
  );
}
