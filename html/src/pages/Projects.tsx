import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { read, write } from '../api/client';
import type { ProjectCreate } from '../api/types';
import { canManage, useAuth } from '../auth';
import { label, longDate } from '../ui/format';
import { Empty, ErrorNote, Field, Modal, Progress, Spinner, useLoad } from '../ui/kit';

export default function Projects() {
  const { user } = useAuth();
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/projects', {}, { query: { limit: 200 }, signal: s }), []);
  const [creating, setCreating] = useState(false);
  const [filter, setFilter] = useState('');
  const items = (data?.items || []).filter((p) => !filter || p.status === filter);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Projects</h1>
        <div className="row">
          <label className="sr-only" htmlFor="pstatus">Status</label>
          <select id="pstatus" value={filter} onChange={(e) => setFilter(e.target.value)}>
            <option value="">All statuses</option>
            {['planning', 'active', 'on_hold', 'completed', 'cancelled'].map((s) => <option key={s} value={s}>{label(s)}</option>)}
          </select>
          {canManage(user) && <button type="button" className="btn primary" onClick={() => setCreating(true)}>New project</button>}
        </div>
      </div>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner /> : items.length === 0 ? (
        <Empty title={filter ? 'No project has this status.' : 'No projects yet.'}>
          {canManage(user) ? 'Create the first one with “New project”.' : 'A project manager creates projects; you will see them here.'}
        </Empty>
      ) : (
        <div className="project-grid">
          {items.map((p) => (
            <Link key={p.id} to={`/projects/${p.id}`} className="project-card">
              <div className="row between">
                <span className="key">{p.key}</span>
                <span className={`status-pill ${p.status}`}>{label(p.status)}</span>
              </div>
              <h2>{p.name}</h2>
              {p.description && <p className="muted clamp">{p.description}</p>}
              <div className="row between small muted">
                <span>{p.due_date ? `Due ${longDate(p.due_date)}` : 'No due date'}</span>
                <span>{p.progress}%</span>
              </div>
              <Progress value={p.progress} label={`${p.name} progress`} />
            </Link>
          ))}
        </div>
      )}
      {creating && <NewProject onClose={() => setCreating(false)} />}
    </div>
  );
}

// A new project: blank (the five default columns) or from a template of
// the gallery (the built-ins and the workspace's own), whose dates are laid
// out from the start date.
function NewProject({ onClose }: { onClose: () => void }) {
  const nav = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  const [template, setTemplate] = useState<string>('');
  const gallery = useLoad((s) => read('/api/v1/templates', {}, { query: { kind: 'project' }, signal: s }), []);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const opt = (k: string) => (f.get(k) ? String(f.get(k)) : undefined);
    try {
      const p = template
        ? await write('post', '/api/v1/templates/{id}/projects', { id: template },
            { name, key, description: opt('description'), start_date: opt('start_date') })
        : await write('post', '/api/v1/projects', {},
            { name, key, description: opt('description'), start_date: opt('start_date'), due_date: opt('due_date') } as ProjectCreate);
      nav(`/projects/${p.id}`);
    } catch (err) { setError(err); }
  };
  const choices = [{ id: '', name: 'Blank', description: 'Backlog, To Do, In Progress, Review, Done; no tasks.', columns: [] as string[], task_count: 0 },
                   ...(gallery.data?.items || [])];
  return (
    <Modal title="New project" onClose={onClose} wide>
      <form onSubmit={submit} className="stack">
        <ErrorNote error={error || gallery.error} />
        <div role="group" aria-label="Start from" className="stack">
          <span className="small muted">Start from</span>
          <div className="template-gallery">
            {choices.map((t) => (
              <button key={t.id || 'blank'} type="button" className="template-card" aria-pressed={template === t.id}
                data-template={t.name} onClick={() => setTemplate(t.id)}>
                <strong>{t.name}</strong>
                <span className="small muted">{t.description}</span>
                {t.id && <span className="small muted">{t.columns.length} columns{t.task_count ? `, ${t.task_count} tasks` : ''}</span>}
              </button>
            ))}
          </div>
        </div>
        <Field label="Name">
          <input value={name} required autoFocus onChange={(e) => {
            setName(e.target.value);
            setKey(e.target.value.split(/\s+/).map((w) => w[0] || '').join('').toUpperCase().replace(/[^A-Z]/g, '').slice(0, 5));
          }} />
        </Field>
        <Field label="Key" hint="Task keys start with it: KEY-12">
          <input value={key} required pattern="[A-Z][A-Z0-9]{1,9}" onChange={(e) => setKey(e.target.value.toUpperCase())} />
        </Field>
        <Field label="Description"><textarea name="description" rows={3} /></Field>
        <div className="row">
          <Field label="Start" hint={template ? "The template's dates count from it (today when empty)" : undefined}><input name="start_date" type="date" /></Field>
          {!template && <Field label="Due"><input name="due_date" type="date" /></Field>}
        </div>
        <div className="row end">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button className="btn primary">Create project</button>
        </div>
      </form>
    </Modal>
  );
}
