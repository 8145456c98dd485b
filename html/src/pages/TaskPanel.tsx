// A task in full, as a side panel over the board (or a page of its own):
// every field editable in place, subtasks, dependencies, comments with
// @mentions, attachments with upload progress, the activity, sharing,
// its repeat rule (TaskRepeat.tsx) and one's reminders (TaskRemind.tsx).
import { lazy, Suspense, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, download, errorMessage, read, upload, write } from '../api/client';
import { eventComment, eventId, eventTask, subscribe } from '../api/events';
import { peopleById, usePeople } from '../api/people';
import { useSuggestions } from '../api/suggestions';
import type { Activity, Attachment, Column, Comment, CustomField, Person, Priority, Task, TaskPatch, TimelineTask } from '../api/types';
import { ago, label, longDate } from '../ui/format';
import { Avatar, ErrorNote, Spinner, useToast } from '../ui/kit';
import { useAuth } from '../auth';
import TaskCode from './TaskCode';
import AgentSessions, { DelegatePicker } from './AgentSessions';
import TaskRepeat from './TaskRepeat';
import TaskRemind from './TaskRemind';

const ShareDialog = lazy(() => import('./ShareDialog'));

// A change to a task: the fields TaskPatch takes, with the values a Task
// has, so that it is both the PATCH body and the optimistic update.
const PRIORITIES: Priority[] = ['urgent', 'high', 'medium', 'low'];

type TaskChange = Partial<Pick<Task, keyof TaskPatch & keyof Task>>;

type Props = {
  taskId: string; onClose: () => void; asPage?: boolean;
  onChanged?: (t: Task) => void; onDeleted?: (id: string) => void; onNavigate?: (id: string) => void;
};

export default function TaskPanel({ taskId, onClose, asPage, onChanged, onDeleted, onNavigate }: Props) {
  const toast = useToast();
  const people = usePeople();
  const byId = useMemo(() => peopleById(people), [people]);
  const [task, setTask] = useState<Task | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [columns, setColumns] = useState<Column[]>([]);
  const [fields, setFields] = useState<CustomField[]>([]);
  const [sharing, setSharing] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const panelRef = useRef<HTMLElement>(null);

  useEffect(() => {
    setTask(null);
    setError(null);
    const c = new AbortController();
    read('/api/v1/tasks/{id}', { id: taskId }, { signal: c.signal }).then((t) => {
      setTask(t);
      read('/api/v1/projects/{id}/columns', { id: t.project_id }, { signal: c.signal }).then((r) => setColumns(r.items)).catch(() => {});
      read('/api/v1/custom-fields', {}, { query: { project_id: t.project_id }, signal: c.signal }).then((r) => setFields(r.items)).catch(() => {});
    }, (e) => { if (!c.signal.aborted) setError(e); });
    return () => c.abort();
  }, [taskId]);

  // live: someone else's change to this task shows at once (a newer version)
  useEffect(() => subscribe((e) => {
    if (e.type === 'reset') {
      read('/api/v1/tasks/{id}', { id: taskId }).then((t) => setTask((cur) => (cur && cur.version < t.version ? t : cur))).catch(() => {});
      return;
    }
    if (e.type === 'task.deleted' && eventId(e) === taskId) { setError(new Error('This task was deleted.')); setTask(null); return; }
    const t = eventTask(e);
    if (!t || t.id !== taskId) return;
    setTask((cur) => (cur && cur.version < t.version ? t : cur));
    setRefresh((n) => n + 1);              // its activity has a new line
  }), [taskId]);

  useEffect(() => {
    if (asPage) return;
    const prev = document.activeElement as HTMLElement | null;
    panelRef.current?.focus();
    const esc = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !document.querySelector('dialog[open]')) onClose();
    };
    document.addEventListener('keydown', esc);
    return () => { document.removeEventListener('keydown', esc); prev?.focus?.(); };
  }, [asPage, onClose]);

  const save = useCallback(async (change: TaskChange) => {
    if (!task) return;
    const old = task;
    setTask({ ...task, ...change });
    try {
      const body: TaskPatch = { ...change, version: old.version };
      const t = await write('patch', '/api/v1/tasks/{id}', { id: task.id }, body);
      setTask(t);
      onChanged?.(t);
      setRefresh((n) => n + 1);
    } catch (e) {
      setTask(old);
      if (e instanceof ApiError && e.code === 'version_conflict') {
        toast('Someone else changed this task meanwhile: here it is as it is now. Make your change again.', 'error');
        const t = await read('/api/v1/tasks/{id}', { id: task.id });
        setTask(t);
        onChanged?.(t);
      } else {
        toast(errorMessage(e), 'error');
      }
    }
  }, [task, onChanged, toast]);

  const moveTo = async (columnId: string) => {
    if (!task) return;
    try {
      const t = await write('patch', '/api/v1/tasks/{id}/move', { id: task.id }, { column_id: columnId });
      setTask(t);
      onChanged?.(t);
      setRefresh((n) => n + 1);
    } catch (e) {
      const col = columns.find((c) => c.id === columnId);
      toast(e instanceof ApiError && e.code === 'wip_limit_reached'
        ? `“${col?.name}” is at its WIP limit of ${col?.wip_limit}: finish or move a task out of it first.`
        : errorMessage(e), 'error');
    }
  };

  const remove = async () => {
    if (!task || !confirm(`Delete ${task.key} “${task.title}” and its subtasks?`)) return;
    try {
      await write('delete', '/api/v1/tasks/{id}', { id: task.id }, undefined);
      onDeleted?.(task.id);
      onClose();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const body = error ? <ErrorNote error={error} /> : !task ? <Spinner /> : (
    <>
      <header className="panel-head">
        <div className="row">
          <span className="key">{task.key}</span>
          {!asPage && <Link to={`/tasks/${task.id}`} className="small">Open as page</Link>}
        </div>
        <div className="row">
          <button type="button" className="btn small" onClick={() => setSharing(true)}>Share</button>
          <button type="button" className="btn small danger-ghost" onClick={remove}>Delete</button>
          {!asPage && <button type="button" className="icon-btn" onClick={onClose} aria-label="Close the task">✕</button>}
        </div>
      </header>
      <div className="panel-scroll">
        <InlineTitle value={task.title} onSave={(title) => save({ title })} />
        <div className="panel-grid">
          <div className="panel-main">
            <Description value={task.description || ''} onSave={(description) => save({ description })} />
            <Subtasks task={task} columns={columns} onOpen={onNavigate} />
            <Dependencies task={task} onOpen={onNavigate} />
            <TaskRepeat task={task} />
            <TaskRemind task={task} />
            <TaskCode task={task} refresh={refresh} />
            <AgentSessions task={task} />
            <Attachments task={task} />
            <Comments task={task} people={people} byId={byId} />
            <ActivityList taskId={task.id} refresh={refresh} />
          </div>
          <Properties task={task} columns={columns} people={people} fields={fields}
            onSave={save} onMove={moveTo} />
        </div>
      </div>
      {sharing && (
        <Suspense fallback={null}>
          <ShareDialog task={task} onClose={() => setSharing(false)} />
        </Suspense>
      )}
    </>
  );

  if (asPage) return <div className="task-page">{body}</div>;
  return (
    <>
      <div className="panel-scrim" onClick={onClose} aria-hidden="true" />
      <aside className="panel" ref={panelRef} tabIndex={-1} role="dialog" aria-modal="false"
        aria-label={task ? `${task.key} ${task.title}` : 'Task'}>
        {body}
      </aside>
    </>
  );
}

function InlineTitle({ value, onSave }: { value: string; onSave: (v: string) => void }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  const commit = () => { const t = v.trim(); if (t && t !== value) onSave(t); else setV(value); };
  return (
    <textarea className="title-edit" aria-label="Title" value={v} rows={1} maxLength={500}
      onChange={(e) => setV(e.target.value.replace(/\n/g, ''))}
      onBlur={commit}
      onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); (e.target as HTMLTextAreaElement).blur(); } }} />
  );
}

function Description({ value, onSave }: { value: string; onSave: (v: string) => void }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  return (
    <section className="block">
      <h3>Description</h3>
      <textarea aria-label="Description" className="desc-edit" value={v} rows={Math.min(14, Math.max(4, v.split('\n').length + 1))}
        placeholder="Add the details: what, why, how we know it is done."
        onChange={(e) => setV(e.target.value)} onBlur={() => { if (v !== value) onSave(v); }} />
    </section>
  );
}

function Properties({ task, columns, people, fields, onSave, onMove }: {
  task: Task; columns: Column[]; people: Person[]; fields: CustomField[];
  onSave: (c: TaskChange) => void; onMove: (columnId: string) => void;
}) {
  const [labels, setLabels] = useState(task.labels.join(', '));
  useEffect(() => setLabels(task.labels.join(', ')), [task.labels]);
  const byId = peopleById(people);
  // the suggested first, best first, with why; then everyone else
  const [picking, setPicking] = useState(false);
  const suggested = useSuggestions(task.id, picking, task.version);
  const ranked = useMemo(() => {
    const order = new Map(suggested.map((s, i) => [s.user.id, i]));
    const why = new Map(suggested.map((s) => [s.user.id, s.summary]));
    return [...people]
      .sort((a, b) => (order.get(a.id!) ?? Infinity) - (order.get(b.id!) ?? Infinity))
      .map((p) => ({ p, why: why.get(p.id!) }));
  }, [people, suggested]);
  return (
    <div className="panel-side">
      <Prop label="Status">
        <select aria-label="Status" value={task.column_id} onChange={(e) => onMove(e.target.value)}>
          {columns.length === 0 && <option value={task.column_id}>{label(task.category)}</option>}
          {columns.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
      </Prop>
      <Prop label="Priority">
        <select aria-label="Priority" value={task.priority} onChange={(e) => {
          const p = PRIORITIES.find((x) => x === e.target.value);
          if (p) onSave({ priority: p });
        }}>
          {PRIORITIES.map((p) => <option key={p} value={p}>{label(p)}</option>)}
        </select>
      </Prop>
      <Prop label="Assignees">
        <details className="picker" onToggle={(e) => setPicking(e.currentTarget.open)}>
          <summary aria-label="Assignees">
            {task.assignee_ids.length === 0 ? <span className="muted">Nobody</span>
              : task.assignee_ids.map((id) => <span key={id} className="chip"><Avatar name={byId.get(id)?.name} size={20} /> {byId.get(id)?.name || 'Someone'}</span>)}
          </summary>
          <div className="picker-list" role="group" aria-label="Choose assignees">
            {ranked.map(({ p, why }) => (
              <label key={p.id} className={why ? 'check suggested' : 'check'}>
                <input type="checkbox" checked={task.assignee_ids.includes(p.id!)} onChange={(e) => onSave({
                  assignee_ids: e.target.checked ? [...task.assignee_ids, p.id!] : task.assignee_ids.filter((x) => x !== p.id),
                })} />
                <Avatar name={p.name} size={20} /> {p.name}
                {why && <span className="muted small why">{why}</span>}
              </label>
            ))}
          </div>
        </details>
      </Prop>
      <Prop label="Delegate">
        <DelegatePicker task={task} onSave={(delegate_id) => onSave({ delegate_id })} />
      </Prop>
      <Prop label="Labels">
        <input aria-label="Labels" value={labels} placeholder="comma, separated" onChange={(e) => setLabels(e.target.value)}
          onBlur={() => {
            const next = [...new Set(labels.split(',').map((s) => s.trim()).filter(Boolean))];
            if (next.join() !== task.labels.join()) onSave({ labels: next });
          }} />
      </Prop>
      <Prop label="Start">
        <input type="date" aria-label="Start date" value={task.start_date || ''} onChange={(e) => onSave({ start_date: e.target.value || null })} />
      </Prop>
      <Prop label="Due">
        <input type="date" aria-label="Due date" value={task.due_date || ''} onChange={(e) => onSave({ due_date: e.target.value || null })} />
      </Prop>
      <Prop label="Estimate (h)">
        <input type="number" min={0} step={0.5} aria-label="Estimate in hours"
          defaultValue={task.estimate_minutes != null ? task.estimate_minutes / 60 : ''} key={task.estimate_minutes ?? 'none'}
          onBlur={(e) => {
            const m = e.target.value === '' ? null : Math.round(Number(e.target.value) * 60);
            if (m !== task.estimate_minutes) onSave({ estimate_minutes: m });
          }} />
      </Prop>
      <Prop label="Blocked">
        <label className="check">
          <input type="checkbox" checked={task.blocked} onChange={(e) => onSave({ blocked: e.target.checked, ...(e.target.checked ? {} : { blocked_reason: null }) })} />
          {task.blocked ? 'Blocked' : 'Not blocked'}
        </label>
        {task.blocked && (
          <input aria-label="Why it is blocked" placeholder="Why?" defaultValue={task.blocked_reason || ''} key={task.blocked_reason || ''}
            onBlur={(e) => { if (e.target.value !== (task.blocked_reason || '')) onSave({ blocked_reason: e.target.value || null }); }} />
        )}
      </Prop>
      {fields.map((f) => (
        <Prop key={f.id} label={f.name}>
          <CustomInput field={f} value={task.custom_fields?.[f.id]} people={people}
            onSave={(v) => onSave({ custom_fields: { ...task.custom_fields, [f.id]: v } })} />
        </Prop>
      ))}
      <p className="muted small">Created {longDate(task.created_at)}{task.completed_at ? ` · done ${longDate(task.completed_at)}` : ''}</p>
    </div>
  );
}

function CustomInput({ field, value, people, onSave }: {
  field: CustomField; value: unknown; people: Person[]; onSave: (v: unknown) => void;
}) {
  const v = value == null ? '' : String(value);
  const commit = (x: string) => {
    const next = x === '' ? null : field.type === 'number' ? Number(x) : x;
    if ((next ?? '') !== (value ?? '')) onSave(next);
  };
  if (field.type === 'select') {
    return (
      <select aria-label={field.name} value={v} onChange={(e) => commit(e.target.value)}>
        <option value="">—</option>
        {(field.options || []).map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    );
  }
  if (field.type === 'user') {
    return (
      <select aria-label={field.name} value={v} onChange={(e) => commit(e.target.value)}>
        <option value="">—</option>
        {people.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
      </select>
    );
  }
  return (
    <input aria-label={field.name} type={field.type === 'number' ? 'number' : field.type === 'date' ? 'date' : 'text'}
      defaultValue={v} key={v} onBlur={(e) => commit(e.target.value)}
      onChange={field.type === 'date' ? (e) => commit(e.target.value) : undefined} />
  );
}

function Prop({ label: l, children }: { label: string; children: ReactNode }) {
  return <div className="prop"><div className="prop-label">{l}</div><div className="prop-value">{children}</div></div>;
}

function Subtasks({ task, columns, onOpen }: { task: Task; columns: Column[]; onOpen?: (id: string) => void }) {
  const [items, setItems] = useState<Task[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    read('/api/v1/tasks/{id}/subtasks', { id: task.id }).then((r) => setItems(r.items), setError);
  }, [task.id]);
  const add = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const title = String(new FormData(form).get('title')).trim();
    if (!title) return;
    try {
      const first = columns.find((c) => c.category === 'todo') || columns[0];
      const t = await write('post', '/api/v1/projects/{id}/tasks', { id: task.project_id },
        { title, parent_id: task.id, ...(first ? { column_id: first.id } : {}) });
      setItems((l) => [...(l || []), t]);
      form.reset();
      setError(null);
    } catch (err) { setError(err); }
  };
  const toggle = async (s: Task) => {
    const target = columns.find((c) => c.category === (s.completed_at ? 'todo' : 'done'));
    if (!target) return;
    try {
      const t = await write('patch', '/api/v1/tasks/{id}/move', { id: s.id }, { column_id: target.id });
      setItems((l) => (l || []).map((x) => (x.id === s.id ? t : x)));
    } catch (err) { setError(err); }
  };
  const done = (items || []).filter((s) => s.completed_at).length;
  return (
    <section className="block">
      <h3>Subtasks {items && items.length > 0 && <span className="muted">{done}/{items.length}</span>}</h3>
      <ErrorNote error={error} />
      {items === null ? <Spinner /> : (
        <ul className="plain-list">
          {items.map((s) => (
            <li key={s.id} className="row">
              <input type="checkbox" checked={!!s.completed_at} onChange={() => toggle(s)} aria-label={`${s.title} done`} />
              <button type="button" className="link" onClick={() => onOpen?.(s.id)}>
                <span className="key">{s.key}</span> <span className={s.completed_at ? 'strike' : ''}>{s.title}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} className="row inline-add">
        <input name="title" placeholder="Add a subtask" aria-label="New subtask title" />
        <button className="btn small">Add</button>
      </form>
    </section>
  );
}

function Dependencies({ task, onOpen }: { task: Task; onOpen?: (id: string) => void }) {
  const [tasks, setTasks] = useState<TimelineTask[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    read('/api/v1/projects/{id}/timeline', { id: task.project_id })
      .then((r) => setTasks(r.tasks), setError);
  }, [task.project_id, n]);
  const me = tasks?.find((t) => t.id === task.id);
  const deps = (me?.dependencies || []).map((id) => tasks!.find((t) => t.id === id)).filter(Boolean) as TimelineTask[];
  const blocking = (tasks || []).filter((t) => t.dependencies?.includes(task.id));
  const add = async (id: string) => {
    if (!id) return;
    try {
      await write('post', '/api/v1/tasks/{id}/dependencies', { id: task.id }, { depends_on_id: id });
      setError(null);
      setN((x) => x + 1);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'dependency_cycle'
        ? new Error('That would make a cycle: the other task already waits, directly or not, for this one.') : err);
    }
  };
  const drop = async (id: string) => {
    try { await write('delete', '/api/v1/tasks/{id}/dependencies/{other_id}', { id: task.id, other_id: id }, undefined); setN((x) => x + 1); } catch (err) { setError(err); }
  };
  return (
    <section className="block">
      <h3>Dependencies</h3>
      <ErrorNote error={error} />
      {tasks === null ? <Spinner /> : (
        <>
          {deps.length === 0 && blocking.length === 0 && <p className="muted small">This task waits for nothing, and nothing waits for it.</p>}
          <ul className="plain-list">
            {deps.map((d) => (
              <li key={d.id} className="row">
                <span className="muted small">Waits for</span>
                <button type="button" className="link" onClick={() => onOpen?.(d.id)}><span className="key">{d.key}</span> {d.title}</button>
                <button type="button" className="icon-btn small" aria-label={`Remove the dependency on ${d.key}`} onClick={() => drop(d.id)}>✕</button>
              </li>
            ))}
            {blocking.map((d) => (
              <li key={d.id} className="row">
                <span className="muted small">Blocks</span>
                <button type="button" className="link" onClick={() => onOpen?.(d.id)}><span className="key">{d.key}</span> {d.title}</button>
              </li>
            ))}
          </ul>
          <select aria-label="Add a dependency" value="" onChange={(e) => add(e.target.value)}>
            <option value="">+ This task waits for…</option>
            {tasks.filter((t) => t.id !== task.id && !me?.dependencies?.includes(t.id)).map((t) => (
              <option key={t.id} value={t.id}>{t.key} {t.title}</option>
            ))}
          </select>
        </>
      )}
    </section>
  );
}

function Attachments({ task }: { task: Task }) {
  const [items, setItems] = useState<Attachment[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<{ name: string; f: number } | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    read('/api/v1/tasks/{id}/attachments', { id: task.id }).then((r) => setItems(r.items), setError);
  }, [task.id]);
  const send = async (files: FileList | null) => {
    for (const file of Array.from(files || [])) {
      if (file.size > 10 * 1024 * 1024) { setError(new Error(`${file.name} is over 10 MB, the largest file a task takes.`)); continue; }
      setProgress({ name: file.name, f: 0 });
      try {
        const a = await upload<Attachment>(`/api/v1/tasks/${task.id}/attachments?filename=${encodeURIComponent(file.name)}`, file,
          (f) => setProgress({ name: file.name, f }));
        setItems((l) => [...(l || []), a]);
        setError(null);
      } catch (err) { setError(err); }
    }
    setProgress(null);
    if (input.current) input.current.value = '';
  };
  return (
    <section className="block"
      onDragOver={(e) => { if (e.dataTransfer.types.includes('Files')) e.preventDefault(); }}
      onDrop={(e) => { if (e.dataTransfer.files.length) { e.preventDefault(); void send(e.dataTransfer.files); } }}>
      <h3>Attachments</h3>
      <ErrorNote error={error} />
      {items === null ? <Spinner /> : (
        <ul className="plain-list files">
          {items.map((a) => (
            <li key={a.id} className="row">
              <button type="button" className="link" onClick={() => download(`/api/v1/attachments/${a.id}`, a.filename).catch((e) => setError(e))}>
                {a.filename}
              </button>
              <span className="muted small">{size(a.size)} · {ago(a.created_at)}</span>
              <button type="button" className="icon-btn small" aria-label={`Remove ${a.filename}`} onClick={async () => {
                if (!confirm(`Remove ${a.filename}?`)) return;
                try { await write('delete', '/api/v1/attachments/{id}', { id: a.id }, undefined); setItems((l) => (l || []).filter((x) => x.id !== a.id)); } catch (err) { setError(err); }
              }}>✕</button>
            </li>
          ))}
        </ul>
      )}
      {progress && (
        <div className="upload" role="status">
          Uploading {progress.name}… {Math.round(progress.f * 100)}%
          <progress max={1} value={progress.f} aria-label={`Uploading ${progress.name}`} />
        </div>
      )}
      <label className="btn small file-btn">
        Attach files
        <input ref={input} type="file" multiple className="sr-only" onChange={(e) => send(e.target.files)} />
      </label>
      <span className="muted small"> or drop them here (10 MB each at most)</span>
    </section>
  );
}

const size = (n: number) => n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1048576).toFixed(1)} MB`;

// A comment as shown: the API's Comment, or one that arrived on the event
// stream (the stored row, without author_name or version). A rule's
// comment has no author (author_id and author_name null).
type ShownComment = Pick<Comment, 'id' | 'author_id' | 'body' | 'created_at'> & { author_name?: string | null };

function Comments({ task, people, byId }: { task: Task; people: Person[]; byId: Map<string, Person> }) {
  const { user } = useAuth();
  const [items, setItems] = useState<ShownComment[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [text, setText] = useState('');
  const [mention, setMention] = useState<{ q: string; at: number } | null>(null);
  const [sel, setSel] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    read('/api/v1/tasks/{id}/comments', { id: task.id }).then((r) => setItems(r.items), setError);
    // live: others' comments on this task appear as they are written; the
    // event's comment has no author_name (and a contributor may not read
    // the people), so the list is read again for the names
    return subscribe((e) => {
      if (e.type === 'reset') {            // the stream lost its place: read again
        read('/api/v1/tasks/{id}/comments', { id: task.id }).then((r) => setItems(r.items)).catch(() => {});
        return;
      }
      const c = e.type === 'comment.created' ? eventComment(e) : null;
      if (!c || c.task_id !== task.id) return;
      setItems((l) => (l === null || l.some((x) => x.id === c.id) ? l : [...l, c]));
      read('/api/v1/tasks/{id}/comments', { id: task.id }).then((r) => setItems(r.items)).catch(() => {});
    });
  }, [task.id]);

  const handle = (p: Person) => (p.email || '').split('@')[0];
  const matches = mention
    ? people.filter((p) => `${p.name} ${p.email}`.toLowerCase().includes(mention.q.toLowerCase())).slice(0, 6) : [];

  const onType = (v: string, caret: number) => {
    setText(v);
    const m = /(^|[^\w.+\-@])@([\w.+-]*)$/.exec(v.slice(0, caret));
    setMention(m ? { q: m[2], at: caret - m[2].length - 1 } : null);
    setSel(0);
  };
  // the caret after a picked mention, put there as the new text is in the
  // DOM (a layout effect): set any later, a fast typist's next letters
  // would land before it
  const caretAfter = useRef<number | null>(null);
  useLayoutEffect(() => {
    const pos = caretAfter.current;
    if (pos === null || !area.current) return;
    caretAfter.current = null;
    area.current.focus();
    area.current.setSelectionRange(pos, pos);
  }, [text]);
  const pick = (p: Person) => {
    if (!mention) return;
    const caret = area.current?.selectionStart ?? text.length;
    const next = `${text.slice(0, mention.at)}@${handle(p)} ${text.slice(caret)}`;
    caretAfter.current = mention.at + handle(p).length + 2;
    setText(next);
    setMention(null);
  };
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    if (!text.trim()) return;
    try {
      const c = await write('post', '/api/v1/tasks/{id}/comments', { id: task.id }, { body: text });
      setItems((l) => (l?.some((x) => x.id === c.id) ? l : [...(l || []), c]));
      setText('');
      setError(null);
    } catch (err) { setError(err); }
  };
  return (
    <section className="block">
      <h3>Comments</h3>
      <ErrorNote error={error} />
      {items === null ? <Spinner /> : (
        <ol className="comments">
          {items.length === 0 && <li className="muted small">No comments yet. Ask a question, or @mention someone to bring them in.</li>}
          {items.map((c) => {
            const who = c.author_name || (c.author_id && byId.get(c.author_id)?.name) || (c.author_id ? 'Someone' : 'A rule');
            return (
              <li key={c.id} className="comment">
                <Avatar name={who} size={28} />
                <div>
                  <div className="small"><strong>{who}</strong> <span className="muted">{ago(c.created_at)}</span>
                    {(c.author_id === user?.id || user?.role === 'admin') && (
                      <button type="button" className="link small muted gap-left" onClick={async () => {
                        try { await write('delete', '/api/v1/comments/{id}', { id: c.id }, undefined); setItems((l) => (l || []).filter((x) => x.id !== c.id)); } catch (err) { setError(err); }
                      }}>Delete</button>
                    )}
                  </div>
                  <p className="comment-body"><Mentions text={c.body} /></p>
                </div>
              </li>
            );
          })}
        </ol>
      )}
      <form onSubmit={submit} className="comment-form">
        <div className="mention-wrap">
          <textarea ref={area} aria-label="Write a comment" placeholder="Write a comment… type @ to mention someone"
            value={text} rows={3} aria-autocomplete="list" aria-expanded={matches.length > 0}
            onChange={(e) => onType(e.target.value, e.target.selectionStart)}
            onKeyDown={(e) => {
              if (matches.length) {
                if (e.key === 'ArrowDown') { e.preventDefault(); setSel((s) => (s + 1) % matches.length); return; }
                if (e.key === 'ArrowUp') { e.preventDefault(); setSel((s) => (s + matches.length - 1) % matches.length); return; }
                if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); pick(matches[sel]); return; }
                if (e.key === 'Escape') { e.stopPropagation(); setMention(null); return; }
              }
              if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) void submit();
            }} />
          {matches.length > 0 && (
            <ul className="mention-list" role="listbox" aria-label="People to mention">
              {matches.map((p, i) => (
                <li key={p.id} role="option" aria-selected={i === sel} className={i === sel ? 'sel' : ''}
                  onMouseDown={(e) => { e.preventDefault(); pick(p); }}>
                  <Avatar name={p.name} size={20} /> {p.name} <span className="muted small">@{handle(p)}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="row end"><span className="muted small">Ctrl+Enter sends</span><button className="btn primary small" disabled={!text.trim()}>Comment</button></div>
      </form>
    </section>
  );
}

function Mentions({ text }: { text: string }) {
  const parts = text.split(/(@[\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)/g);
  return <>{parts.map((p, i) => (p.startsWith('@') ? <span key={i} className="mention">{p}</span> : p))}</>;
}

function ActivityList({ taskId, refresh }: { taskId: string; refresh: number }) {
  const [items, setItems] = useState<Activity[] | null>(null);
  useEffect(() => {
    read('/api/v1/tasks/{id}/activity', { id: taskId }).then((r) => setItems(r.items)).catch(() => setItems([]));
  }, [taskId, refresh]);
  return (
    <section className="block">
      <h3>Activity</h3>
      {items === null ? <Spinner /> : (
        <ol className="activity">
          {[...items].reverse().slice(0, 30).map((a) => (
            <li key={a.id}>
              <strong>{a.actor_name || 'Someone'}</strong> {describe(a)} <span className="muted small">{ago(a.created_at)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

const SKIP = new Set(['version', 'updated_at', 'rank', 'id', 'created_at', 'category', 'completed_at', 'key', 'project_id']);
function describe(a: Activity) {
  if (a.action === 'created') return 'created the task';
  if (a.action === 'linked') {
    const n = a.new_values || {};
    return `linked ${String(n.kind || '').replace(/_/g, ' ')} “${String(n.title || n.url || '')}”`;
  }
  if (a.action === 'move_refused') return 'could not move it: the column is at its WIP limit';
  // the thing's fields before and after, any of them: unknown values
  const o = a.old_values || {};
  const n = a.new_values || {};
  const changed = Object.keys(n).filter((k) => !SKIP.has(k) && JSON.stringify(o[k]) !== JSON.stringify(n[k]));
  if (a.action === 'moved' || changed.includes('column_id')) {
    return `moved it${n.category ? ` to ${label(String(n.category))}` : ''}`;
  }
  if (changed.length === 1) {
    const k = changed[0], v = n[k];
    const shown = v == null || v === '' ? 'nothing' : Array.isArray(v) ? (v.length ? v.join(', ') : 'nothing')
      : typeof v === 'object' ? '' : String(v).length > 60 ? '' : `“${v}”`;
    return `set ${label(k).replace(/ ids?$/, 's').toLowerCase()}${shown ? ` to ${shown}` : ''}`;
  }
  if (changed.length) return `changed ${changed.map((k) => label(k).toLowerCase()).join(', ')}`;
  return a.action.replace(/_/g, ' ');
}
