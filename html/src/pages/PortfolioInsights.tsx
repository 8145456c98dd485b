// The portfolio's latest analysis (GET /api/v1/insights/portfolio/summary):
// its summary, each risk with its evidence (tasks, people, milestones,
// figures), the language model's reading when there is one, and the button
// that asks for a new one (POST /api/v1/insights/analyze → 202) with its
// progress, followed by polling and by `insight.generated` on the stream,
// whichever comes first.
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, read, write } from '../api/client';
import { canManage, useAuth } from '../auth';
import { eventInsight, subscribe } from '../api/events';
import type { Insight, InsightResult, InsightRisk } from '../api/types';
import { ago, label, longDate } from '../ui/format';
import { ErrorNote, Spinner } from '../ui/kit';

type Job = { id: string; status: Insight['status']; since: number };

const isResult = (r: Insight['result']): r is InsightResult => !!r && typeof r === 'object' && 'summary' in r;
const POLL_MS = 1500;

export function PortfolioInsights() {
  // asking for an analysis is for managers; contributors read (API.md)
  const mayAsk = canManage(useAuth().user);
  const [latest, setLatest] = useState<Insight | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [now, setNow] = useState(Date.now());
  const jobRef = useRef<Job | null>(null);
  jobRef.current = job;

  const finish = (i: Insight) => {
    setJob(null);
    if (i.status === 'failed') {
      const r = i.result;
      setError(new Error(`The analysis failed${r && typeof r === 'object' && 'error' in r ? `: ${r.error}` : '.'} The risks above still hold; try again later.`));
    } else {
      setError(null);
      setLatest(i);
    }
  };

  useEffect(() => {
    const c = new AbortController();
    read('/api/v1/insights/portfolio/summary', {}, { signal: c.signal })
      .then((i) => { setLatest(i); setLoading(false); },
        (e) => {
          if (c.signal.aborted) return;
          // 404: none yet, which the empty state explains
          if (!(e instanceof ApiError && e.status === 404)) setError(e);
          setLoading(false);
        });
    // an analysis of the portfolio done anywhere (this tab or another
    // person's) is the latest
    const stop = subscribe((e) => {
      const i = eventInsight(e);
      if (!i || i.project_id !== null || i.kind !== 'executive_summary' || !isResult(i.result)) return;
      if (jobRef.current?.id === i.id) finish(i); else setLatest(i);
    });
    return () => { c.abort(); stop(); };
  }, []);

  // while one runs: poll it, and tick the elapsed seconds
  useEffect(() => {
    if (!job) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    const poll = setTimeout(() => {
      read('/api/v1/insights/analyze/{id}', { id: job.id }).then((i) => {
        if (jobRef.current?.id !== i.id) return;
        if (i.status === 'completed' || i.status === 'failed') finish(i);
        else setJob({ ...job, status: i.status });
      }, (e) => { setError(e); setJob(null); });
    }, POLL_MS);
    return () => { clearInterval(tick); clearTimeout(poll); };
  }, [job]);

  const ask = async () => {
    setError(null);
    try {
      const a = await write('post', '/api/v1/insights/analyze', {}, { project_id: 'portfolio', kind: 'executive_summary' });
      setNow(Date.now());
      setJob({ id: a.id, status: a.status, since: Date.now() });
    } catch (e) { setError(e); }
  };

  const result = latest && isResult(latest.result) ? latest.result : null;
  return (
    <section className="box insights" aria-labelledby="insights-title" aria-busy={!!job || loading}>
      <div className="row between wrap">
        <h3 id="insights-title">Insights</h3>
        {mayAsk && (
          <button type="button" className="btn small primary" onClick={ask} disabled={!!job}>
            {job ? 'Analysing…' : latest ? 'Ask for a new analysis' : 'Analyse the portfolio'}
          </button>
        )}
      </div>
      {job && (
        <div className="insight-progress" role="status">
          <Spinner label={`${job.status === 'running' ? 'Analysing' : 'Queued'} · ${Math.round((now - job.since) / 1000)} s`} />
          <p className="muted small">The rules run first; a language model's reading follows when one is configured.</p>
        </div>
      )}
      <ErrorNote error={error} onRetry={job || !mayAsk ? undefined : ask} />
      {loading ? <Spinner label="Loading the latest analysis…" /> : !result ? (
        !job && !mayAsk ? <p className="muted small">No analysis yet: an admin or a project manager can ask for one.</p> : !job && <p className="muted small">No analysis yet. “Analyse the portfolio” writes an executive summary of every project: the rule-based risks with their evidence, and a language model's reading when one is configured.</p>
      ) : (
        <div className="insight" data-insight-id={latest!.id}>
          <p className="muted small">{latest!.completed_at ? `Made ${ago(latest!.completed_at)}` : ''}{latest!.model ? ` · model ${latest!.model}` : ' · rule-based'}</p>
          <p className="insight-summary">{result.summary}</p>
          {result.risks.length === 0 ? <p className="muted small">No rule flags a risk.</p> : (
            <ul className="risk-list">{result.risks.map((r, i) => <Risk key={`${r.rule}-${i}`} r={r} />)}</ul>
          )}
          <Llm llm={result.llm} />
        </div>
      )}
    </section>
  );
}

function Risk({ r }: { r: InsightRisk }) {
  const ev = r.evidence;
  const figures = Object.entries(ev.figures || {}).filter(([, v]) => v !== null && v !== undefined);
  return (
    <li className="risk">
      <details>
        <summary>
          <span className="flag bad">⚠ {label(r.rule)}</span>
          {r.project && <> <Link to={`/projects/${r.project.id}`}>{r.project.name}</Link> <span className="key">{r.project.key}</span></>}
          : {r.detail}
        </summary>
        <div className="evidence small">
          {figures.length > 0 && (
            <dl className="figures">
              {figures.map(([k, v]) => <div key={k}><dt>{label(k)}</dt><dd>{Array.isArray(v) ? v.join(' → ') : String(v)}</dd></div>)}
            </dl>
          )}
          {!!ev.tasks?.length && (
            <ul>{ev.tasks.map((t) => (
              <li key={t.id}><Link to={`/tasks/${t.id}`}><span className="key">{t.key}</span> {t.title}</Link>
                {t.reason ? <span className="muted"> — {t.reason}</span> : t.due_date ? <span className="muted"> — due {longDate(t.due_date)}</span> : null}</li>
            ))}</ul>
          )}
          {!!ev.milestones?.length && (
            <ul>{ev.milestones.map((m) => <li key={m.id}>◆ {m.name} <span className="muted">— due {longDate(m.due_date)}</span></li>)}</ul>
          )}
          {!!ev.people?.length && (
            <ul>{ev.people.map((p) => (
              <li key={p.id}>{p.name}: {Math.round(p.logged_minutes / 60)} h of {Math.round(p.capacity_minutes / 60)} h
                {p.utilisation != null && <span className="muted"> ({Math.round(p.utilisation * 100)} %)</span>}</li>
            ))}</ul>
          )}
        </div>
      </details>
    </li>
  );
}

function Llm({ llm }: { llm: InsightResult['llm'] }) {
  if (llm.status === 'not_configured') return null;
  if (llm.status !== 'completed' || !llm.answer) {
    return <p className="muted small">The language model gave no reading ({label(llm.status)}{llm.error ? `: ${llm.error}` : ''}); the rules stand.</p>;
  }
  const a = llm.answer;
  return (
    <div className="llm">
      <h4>The model's reading{llm.model ? ` (${llm.model})` : ''}</h4>
      {a.summary && <p>{a.summary}</p>}
      {!!a.recommendations?.length && <ul>{a.recommendations.map((x, i) => <li key={i}>{x}</li>)}</ul>}
    </div>
  );
}
