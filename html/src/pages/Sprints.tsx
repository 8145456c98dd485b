// Sprints: the planned, active and closed ones, the backlog (tasks with no
// sprint) to plan from, and the burndown of the sprint chosen.
import { useMemo, useState, type FormEvent } from 'react';
import { useParams } from 'react-router-dom';
import { errorMessage, read, write } from '../api/client';
import type { Sprint, SprintCreate, Task } from '../api/types';
import { canManage, useAuth } from '../auth';
import { LineChart } from '../ui/charts';
import { addDays, label, shortDate, today } from '../ui/format';
import { Empty, ErrorNote, Field, Modal, Spinner, useLoad, useToast } from '../ui/kit';
import { ProjectTabs } from './ProjectTabs';

export default function Sprints() {
  const { id } = useParams();
  const { user } = useAuth();
  const toast = useToast();
  const board = useLoad((s) => read('/api/v1/projects/{id}/kanban', { id: id! }, { signal: s }), [id]);
  const sprints = useLoad((s) => read('/api/v1/projects/{id}/sprints', { id: id! }, { signal: s }), [id]);
  const [chosen, setChosen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);

  const tasks: Task[] = useMemo(() => (board.data?.columns || []).flatMap((c) => c.tasks), [board.data]);
  const list = sprints.data?.items || [];
  const current = list.find((s) => s.id === chosen) || list.find((s) => s.state === 'active') || list[0];

  const assign = async (t: Task, sprintId: string | null) => {
    try {
      await write('patch', '/api/v1/tasks/{id}', { id: t.id }, { sprint_id: sprintId, version: t.version });
      board.reload(); sprints.reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const setState = async (s: Sprint, state: Sprint['state']) => {
    try { await write('patch', '/api/v1/sprints/{id}', { id: s.id }, { state }); sprints.reload(); } catch (e) { toast(errorMessage(e), 'error'); }
  };

  if (!board.data) return <div className="page">{board.error ? <ErrorNote error={board.error} onRetry={board.reload} /> : <Spinner />}</div>;
  const inSprint = current ? tasks.filter((t) => t.sprint_id === current.id) : [];
  const backlog = tasks.filter((t) => !t.sprint_id && t.category !== 'done');

  return (
    <div className="page board-page">
      <ProjectTabs project={board.data.project} tab="sprints" extra={canManage(user) &&
        <button type="button" className="btn primary small" onClick={() => setCreating(true)}>New sprint</button>} />
      <ErrorNote error={sprints.error} onRetry={sprints.reload} />
      {list.length === 0 ? <Empty title="No sprints yet.">{canManage(user) ? 'Create one, then plan tasks from the backlog into it.' : 'A project manager plans sprints.'}</Empty> : (
        <div className="sub-tabs" role="tablist" aria-label="Sprints">
          {list.map((s) => (
            <button key={s.id} type="button" role="tab" aria-selected={current?.id === s.id} className={current?.id === s.id ? 'active' : ''}
              onClick={() => setChosen(s.id)}>{s.name} · {label(s.state)}</button>
          ))}
        </div>
      )}
      <div className="dash-grid">
        {current && (
          <div className="box">
            <div className="row between wrap">
              <h2>{current.name} <span className={`status-pill ${current.state}`}>{label(current.state)}</span></h2>
              {canManage(user) && current.state !== 'closed' && (
                <button type="button" className="btn small" onClick={() => setState(current, current.state === 'planned' ? 'active' : 'closed')}>
                  {current.state === 'planned' ? 'Start sprint' : 'Close sprint'}
                </button>
              )}
            </div>
            <p className="muted small">{shortDate(current.start_date) || '…'} → {shortDate(current.end_date) || '…'}{current.goal ? ` · Goal: ${current.goal}` : ''}</p>
            <Burndown sprint={current} tasks={inSprint} />
            <h3>In this sprint ({inSprint.length})</h3>
            <TaskList tasks={inSprint} action={(t) => canManage(user) && <button type="button" className="btn ghost small" onClick={() => assign(t, null)}>To backlog</button>} />
          </div>
        )}
        <div className="box">
          <h2>Backlog <span className="muted small">{backlog.length} open tasks without a sprint</span></h2>
          <TaskList tasks={backlog} action={(t) => current && current.state !== 'closed' &&
            <button type="button" className="btn small" onClick={() => assign(t, current.id)}>Add to {current.name}</button>} />
        </div>
      </div>
      {creating && <NewSprint projectId={id!} onClose={() => setCreating(false)} onDone={(s) => { setCreating(false); setChosen(s.id); sprints.reload(); }} />}
    </div>
  );
}

function TaskList({ tasks, action }: { tasks: Task[]; action: (t: Task) => React.ReactNode }) {
  if (!tasks.length) return <p className="muted small">None.</p>;
  return (
    <ul className="plain-list">
      {tasks.map((t) => (
        <li key={t.id} className="row between">
          <span><span className="key">{t.key}</span> {t.title} <span className="tag">{label(t.category)}</span></span>
          {action(t)}
        </li>
      ))}
    </ul>
  );
}

function Burndown({ sprint, tasks }: { sprint: Sprint; tasks: Task[] }) {
  if (!sprint.start_date || !sprint.end_date || !tasks.length) {
    return <p className="muted small">The burndown appears once the sprint has dates and tasks.</p>;
  }
  const labels: string[] = [], remaining: number[] = [], ideal: number[] = [];
  const days: string[] = [];
  for (let d = sprint.start_date; d <= sprint.end_date; d = addDays(d, 1)) days.push(d);
  days.forEach((d, i) => {
    labels.push(shortDate(d));
    ideal.push(Math.round((tasks.length * (1 - i / Math.max(1, days.length - 1))) * 10) / 10);
    if (d <= today()) remaining.push(tasks.filter((t) => !t.completed_at || t.completed_at.slice(0, 10) > d).length);
  });
  return <LineChart title="Burndown: open tasks per day" labels={labels}
    series={[{ name: 'Ideal', values: ideal, color: '#64748b', dashed: true }, { name: 'Remaining', values: remaining, color: '#4f46e5' }]} />;
}

function NewSprint({ projectId, onClose, onDone }: { projectId: string; onClose: () => void; onDone: (s: Sprint) => void }) {
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const opt = (k: string) => (f.get(k) ? String(f.get(k)) : undefined);
    const body: SprintCreate = {
      name: String(f.get('name')), goal: opt('goal'), start_date: opt('start_date'), end_date: opt('end_date'),
    };
    try { onDone(await write('post', '/api/v1/projects/{id}/sprints', { id: projectId }, body)); } catch (err) { setError(err); }
  };
  return (
    <Modal title="New sprint" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorNote error={error} />
        <Field label="Name"><input name="name" required autoFocus /></Field>
        <Field label="Goal"><input name="goal" /></Field>
        <div className="row">
          <Field label="Start"><input name="start_date" type="date" defaultValue={today()} /></Field>
          <Field label="End"><input name="end_date" type="date" defaultValue={addDays(today(), 13)} /></Field>
        </div>
        <div className="row end"><button type="button" className="btn" onClick={onClose}>Cancel</button><button className="btn primary">Create sprint</button></div>
      </form>
    </Modal>
  );
}
