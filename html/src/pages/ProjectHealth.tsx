// A project's health for its manager and the portfolio office: the health
// and the rules' reasons, a manager's override, the weekly updates as its
// history, and posting this week's update from a draft of the facts.
import { useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { errorMessage, read, write } from '../api/client';
import { label, longDate } from '../ui/format';
import { ErrorNote, Spinner, useLoad } from '../ui/kit';

type Level = 'on_track' | 'at_risk' | 'off_track';
const LEVELS: Level[] = ['on_track', 'at_risk', 'off_track'];

export function HealthPill({ health }: { health: string }) {
  return <span className={`health-pill ${health}`}>{label(health)}</span>;
}

export default function ProjectHealth() {
  const { id = '' } = useParams();
  const health = useLoad((s) => read('/api/v1/projects/{id}/health', { id }, { signal: s }), [id]);
  const updates = useLoad((s) => read('/api/v1/projects/{id}/updates', { id }, { signal: s }), [id]);
  const project = useLoad((s) => read('/api/v1/projects/{id}', { id }, { signal: s }), [id]);
  const h = health.data;
  if (!h) return <div className="page"><h1>Health</h1>{health.error ? <ErrorNote error={health.error} onRetry={health.reload} /> : <Spinner />}</div>;
  return (
    <div className="page">
      <div className="page-head">
        <h1>{project.data?.name || 'Project'} <HealthPill health={h.health} /></h1>
        <Link className="btn small" to={`/projects/${id}`}>Board</Link>
      </div>
      <div className="dash-grid">
        <section className="box" aria-labelledby="reasons-h">
          <h3 id="reasons-h">Why</h3>
          {h.override && (
            <p className="override-note">
              Set to <HealthPill health={h.override.health} /> by {h.override.set_by?.name || 'a manager'}: “{h.override.note}”.
              The rules say <HealthPill health={h.derived_health} />.
            </p>
          )}
          {h.reasons.length === 0 ? <p className="muted">No rule is triggered.</p> : (
            <ul className="reasons">
              {h.reasons.map((r, i) => <li key={i}><b>{label(r.rule)}</b>: {r.text}</li>)}
            </ul>
          )}
        </section>
        <PostUpdate projectId={id} onPosted={() => { updates.reload(); health.reload(); }} />
      </div>
      <section className="box" aria-labelledby="updates-h" style={{ marginTop: '1rem' }}>
        <h3 id="updates-h">Weekly updates</h3>
        {updates.error ? <ErrorNote error={updates.error} onRetry={updates.reload} /> : null}
        {updates.data && updates.data.items.length === 0 && <p className="muted">No update yet.</p>}
        <ol className="updates">
          {updates.data?.items.map((u) => (
            <li key={u.id}>
              <div className="row"><HealthPill health={u.health} /> <b>{u.week}</b>
                <span className="muted small">{u.author?.name || 'Someone'}, {longDate(u.created_at.slice(0, 10))}</span></div>
              <p className="update-text">{u.text}</p>
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}

function PostUpdate({ projectId, onPosted }: { projectId: string; onPosted: () => void }) {
  const [health, setHealth] = useState<Level>('on_track');
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function draft() {
    setError(null);
    try {
      const d = await read('/api/v1/projects/{id}/updates/draft', { id: projectId });
      setHealth(d.health); setText(d.text);
    } catch (e) { setError(errorMessage(e)); }
  }
  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      await write('post', '/api/v1/projects/{id}/updates', { id: projectId }, { health, text });
      setText(''); onPosted();
    } catch (err) { setError(errorMessage(err)); } finally { setBusy(false); }
  }
  return (
    <form className="box" onSubmit={submit} aria-labelledby="post-h">
      <h3 id="post-h">This week's update</h3>
      <label>Health{' '}
        <select value={health} onChange={(e) => setHealth(LEVELS.find((l) => l === e.target.value) || 'on_track')}>
          {LEVELS.map((l) => <option key={l} value={l}>{label(l)}</option>)}
        </select>
      </label>
      <textarea aria-label="Update" rows={6} maxLength={20000} value={text} onChange={(e) => setText(e.target.value)} placeholder="What happened, what is next, what you need" />
      {error && <p className="error" role="alert">{error}</p>}
      <div className="row">
        <button type="button" className="btn small" onClick={draft}>Draft from the facts</button>
        <button type="submit" className="btn primary small" disabled={busy || !text.trim()}>Post</button>
      </div>
    </form>
  );
}
