// "Subscribe in a calendar": private ICS feed URLs of the person's tasks
// (in the profile) or of a project (in its settings, for managers). The
// server keeps only a hash of a feed's secret, so a URL is shown once,
// when it is made, with a copy button; the list offers revoking.
import { useState } from 'react';
import { errorMessage, read, write } from '../api/client';
import { ErrorNote, Spinner, useLoad, useToast } from '../ui/kit';

export default function CalendarFeeds({ projectId }: { projectId?: string }) {
  const toast = useToast();
  const [fresh, setFresh] = useState<string | null>(null);
  const [style, setStyle] = useState<'todo' | 'event'>('todo');
  const [copied, setCopied] = useState(false);
  const { data, error, loading, reload } = useLoad((s) => projectId
    ? read('/api/v1/projects/{id}/calendar-feeds', { id: projectId }, { signal: s })
    : read('/api/v1/me/calendar-feeds', {}, { signal: s }), [projectId]);

  const make = async () => {
    try {
      const f = projectId
        ? await write('post', '/api/v1/projects/{id}/calendar-feeds', { id: projectId }, { style })
        : await write('post', '/api/v1/me/calendar-feeds', {}, { style });
      setFresh(f.url);
      reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const revoke = async (id: string) => {
    try {
      await write('delete', '/api/v1/calendar-feeds/{id}', { id }, undefined);
      setFresh(null);
      toast('Revoked: that URL no longer works.');
      reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const copy = async (text: string) => {
    try { await navigator.clipboard.writeText(text); setCopied(true); setTimeout(() => setCopied(false), 2000); } catch { /* shown to select */ }
  };

  return (
    <section className="box calendar-feeds" aria-labelledby="calendar-feeds-title">
      <h2 id="calendar-feeds-title">Subscribe in a calendar</h2>
      <p className="muted small">{projectId
        ? 'The project\'s due tasks, milestones, sprints and its people\'s time off'
        : 'Your due tasks, your projects\' milestones and sprints and your time off'}
        {' '}in any calendar app (Google, Outlook, Apple, Thunderbird). Anyone with the
        URL can read it: it is shown once; revoke it if it leaks.</p>
      <ErrorNote error={error} onRetry={reload} />
      {fresh && (
        <div className="row wrap calendar-feed-url">
          <input readOnly value={fresh} aria-label="Calendar feed URL" size={60}
            onFocus={(e) => e.currentTarget.select()} />
          <button type="button" className="btn" onClick={() => copy(fresh)}>{copied ? 'Copied' : 'Copy'}</button>
        </div>
      )}
      {loading && !data ? <Spinner label="Loading…" /> : data && (
        <ul className="plain-list">
          {data.items.map((f) => (
            <li key={f.id} className="row">
              <span>Feed made {new Date(f.created_at).toLocaleString()} · tasks as {f.style === 'todo' ? 'to-dos' : 'events'}</span>
              <button type="button" className="btn danger" onClick={() => revoke(f.id)}>Revoke</button>
            </li>
          ))}
        </ul>
      )}
      <div className="row wrap">
        <label className="row">Tasks as
          <select value={style} aria-label="Tasks as" onChange={(e) => setStyle(e.target.value === 'event' ? 'event' : 'todo')}>
            <option value="todo">to-dos</option>
            <option value="event">all-day events</option>
          </select>
        </label>
        <button type="button" className="btn primary" onClick={make}>New calendar URL</button>
      </div>
    </section>
  );
}
