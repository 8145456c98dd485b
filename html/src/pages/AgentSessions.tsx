// A task's AI agents: "Delegate to agent" beside the assignees (the agents
// are the admins' list; others see the delegate's name from its session),
// and each agent session with its state, its activities live from the
// event stream, an answer box when it asks, and Stop.
import { useEffect, useState, type FormEvent } from 'react';
import { errorMessage, read, write } from '../api/client';
import { subscribe } from '../api/events';
import type { Agent, AgentSession, Task } from '../api/types';
import { ago, label } from '../ui/format';
import { ErrorNote, useToast } from '../ui/kit';

const ENDED = ['complete', 'error'];
// how the session came about, after the agent's name
const OPENED: Record<NonNullable<AgentSession['opened_by']>, string> = {
  delegated: 'delegated', mentioned: 'mentioned',
  new_task: 'triaging a new task', daily: 'daily digest',
};
const PILL: Record<string, string> = {
  pending: 'planning', active: 'active', awaiting_input: 'on_hold',
  complete: 'achieved', error: 'cancelled', stale: 'missed',
};

// The session events name their task in their data: the session's
// task_id, or an activity's session_id (then any of ours may be it).
const touches = (data: unknown, taskId: string, ids: string[]) => {
  if (!data || typeof data !== 'object') return false;
  const d = data as Record<string, unknown>;
  return d.task_id === taskId || (typeof d.session_id === 'string' && ids.includes(d.session_id));
};

export function DelegatePicker({ task, onSave }: { task: Task; onSave: (delegate: string | null) => void }) {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  useEffect(() => {
    read('/api/v1/agents', {}).then((r) => setAgents(r.items), () => setAgents([]));
  }, []);
  if (!agents) return <span className="muted">{task.delegate_id ? 'An agent' : 'No agent'}</span>;
  return (
    <select aria-label="Delegate to agent" value={task.delegate_id || ''}
      onChange={(e) => onSave(e.target.value || null)}>
      <option value="">No agent</option>
      {agents.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
    </select>
  );
}

export default function AgentSessions({ task }: { task: Task }) {
  const [sessions, setSessions] = useState<AgentSession[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let ids: string[] = [];
    const load = () => read('/api/v1/tasks/{id}/agent-sessions', { id: task.id })
      .then((r) => { ids = r.items.map((s) => s.id); setSessions(r.items); }, setError);
    load();
    return subscribe((e) => {
      if (e.type === 'reset' || ((e.type === 'agent_session.updated' || e.type === 'agent_activity.created')
          && touches(e.data, task.id, ids))) load();
    });
  }, [task.id, task.delegate_id]);

  if (!sessions?.length && !error) return null;
  return (
    <section className="block agent-sessions" aria-label="Agent sessions">
      <h3>Agents</h3>
      <ErrorNote error={error} />
      {sessions?.map((s) => <Session key={s.id} s={s} onChanged={(n) => setSessions((l) => l && l.map((x) => (x.id === n.id ? n : x)))} />)}
    </section>
  );
}

function Session({ s, onChanged }: { s: AgentSession; onChanged: (s: AgentSession) => void }) {
  const [answer, setAnswer] = useState('');
  const toast = useToast();
  const ended = s.stopped || ENDED.includes(s.state);
  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!answer.trim()) return;
    try {
      onChanged(await write('post', '/api/v1/agent-sessions/{id}/prompts', { id: s.id }, { body: answer.trim() }));
      setAnswer('');
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  const stop = async () => {
    try { onChanged(await write('post', '/api/v1/agent-sessions/{id}/stop', { id: s.id }, undefined)); } catch (err) { toast(errorMessage(err), 'error'); }
  };
  return (
    <div className="box agent-session" data-session-id={s.id}>
      <div className="row between wrap">
        <div>
          <strong>{s.agent_name || 'Agent'}</strong>{' '}
          <span className={`status-pill ${PILL[s.state] || ''}`} data-testid="agent-state">
            {s.stopped ? 'Stopped' : label(s.state)}</span>
          {s.unresponsive && <span className="flag" title="No activity within 10 seconds"> Not responding</span>}
          <span className="muted small"> · {s.opened_by ? OPENED[s.opened_by] : 'delegated'} {s.created_at ? ago(s.created_at) : ''}</span>
        </div>
        <div className="row">
          {s.external_url && <a className="small" href={s.external_url} target="_blank" rel="noreferrer noopener">Watch its work</a>}
          {!ended && <button type="button" className="btn small danger-ghost" onClick={stop}>Stop</button>}
        </div>
      </div>
      <ol className="plain-list agent-timeline">
        {s.activities.map((a) => (
          <li key={a.id} className={`agent-activity ${a.type}`}>
            <span className="muted small">{label(a.type === 'elicitation' ? 'question' : a.type === 'prompt' ? 'answer' : a.type)}</span>{' '}
            <span className="agent-body">{a.body}</span>{' '}
            <span className="muted small">{ago(a.created_at)}</span>
          </li>
        ))}
        {!s.activities.length && <li className="muted small">Waiting for the agent…</li>}
      </ol>
      {s.state === 'awaiting_input' && !s.stopped && (
        <form className="row" onSubmit={send}>
          <input aria-label="Answer the agent" value={answer} maxLength={20000}
            onChange={(e) => setAnswer(e.target.value)} placeholder="Answer the agent's question" />
          <button type="submit" className="btn small primary">Answer</button>
        </form>
      )}
    </div>
  );
}
