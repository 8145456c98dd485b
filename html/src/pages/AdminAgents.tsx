// Admin → Agents: the workspace's AI agents, apart from its people. An
// external agent (a coding agent in its sandbox, a CI job) is added with
// the URL it hears of its sessions at; its API token and the secret that
// signs what it is sent are shown once; its access says what that token
// may do besides reporting on its sessions (read, or read and change the
// tasks delegated to it). A built-in one runs inside the server through
// the workspace's model.
import { useState, type FormEvent } from 'react';
import { errorMessage, read, write } from '../api/client';
import type { Agent, AgentCreate, AgentScopes } from '../api/types';
import { ago } from '../ui/format';
import { Empty, ErrorNote, Field, Modal, Spinner, useLoad, useToast } from '../ui/kit';

const BUILTINS = ['breakdown', 'triage', 'digest'] as const;
const BUILTIN_TEXT: Record<string, string> = {
  breakdown: 'proposes subtasks with estimates and acceptance criteria',
  triage: 'proposes labels, priority and an assignee for a new task',
  digest: 'writes a project\'s daily digest',
};

// an external agent's scopes, as one choice
const ACCESS: { value: string; scopes: AgentScopes; label: string }[] = [
  { value: 'none', scopes: [], label: 'Its sessions only' },
  { value: 'read', scopes: ['read'], label: 'Reads the workspace' },
  { value: 'write', scopes: ['read', 'write'], label: 'Reads, and changes the tasks delegated to it' },
];
const accessOf = (scopes: AgentScopes) => (scopes.includes('write') ? 'write' : scopes.includes('read') ? 'read' : 'none');

export default function AdminAgents() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/agents', {}, { signal: s }), []);
  const [adding, setAdding] = useState(false);
  const [shown, setShown] = useState<Agent | null>(null);
  const toast = useToast();

  const remove = async (a: Agent) => {
    if (!confirm(`Remove ${a.name}? Its token stops working and its sessions go.`)) return;
    try { await write('delete', '/api/v1/agents/{id}', { id: a.id }, undefined); toast('Agent removed.'); reload(); } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const setAccess = async (a: Agent, value: string) => {
    const scopes = ACCESS.find((x) => x.value === value)?.scopes ?? [];
    try {
      await write('patch', '/api/v1/agents/{id}', { id: a.id }, { scopes });
      toast(`${a.name}: ${ACCESS.find((x) => x.value === value)?.label.toLowerCase()}.`);
      reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  return (
    <>
      <div className="row between wrap">
        <p className="muted">Agents work on tasks beside people: delegate a task to one, or @mention it in a comment. They never sign in and are not counted as users.</p>
        <button type="button" className="btn primary" onClick={() => setAdding(true)}>Add agent</button>
      </div>
      {shown?.token && (
        <div className="banner warn" role="status" data-testid="agent-secrets">
          {shown.name}'s API token and webhook secret. Copy them now: they are shown only once.
          <div className="secret" data-testid="agent-token">{shown.token}</div>
          {shown.webhook_secret && <div className="secret" data-testid="agent-webhook-secret">{shown.webhook_secret}</div>}
          <button type="button" className="btn small" onClick={() => setShown(null)}>I have copied them</button>
        </div>
      )}
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner label="Loading agents…" /> : !data?.items.length ? (
        <Empty title="No agents yet.">Add one with “Add agent”: an external agent with its webhook URL, or a built-in one.</Empty>
      ) : (
        <ul className="plain-list webhook-list">
          {data.items.map((a) => (
            <li key={a.id} className="box webhook" data-agent-id={a.id}>
              <div className="row between wrap">
                <div className="webhook-head">
                  <strong>{a.name}</strong> <span className="muted">@{a.handle}</span>{' '}
                  <span className="status-pill planning">{a.kind === 'builtin' ? `Built-in: ${a.builtin}` : 'External'}</span>
                </div>
                <button type="button" className="btn small danger-ghost" onClick={() => remove(a)}>Remove</button>
              </div>
              <p className="muted small">
                {a.kind === 'builtin' ? BUILTIN_TEXT[a.builtin || ''] : a.webhook_url ? `Sessions are sent to ${a.webhook_url}` : 'No webhook URL: it polls its sessions'}
                {' · '}added {ago(a.created_at)}
              </p>
              {a.kind === 'external' && (
                <label className="row small agent-access">
                  <span className="muted">What its token may do</span>
                  <select value={accessOf(a.scopes)} onChange={(e) => setAccess(a, e.target.value)} data-testid="agent-access">
                    {ACCESS.map((x) => <option key={x.value} value={x.value}>{x.label}</option>)}
                  </select>
                </label>
              )}
            </li>
          ))}
        </ul>
      )}
      {data?.items.some((a) => a.builtin === 'digest') && <DigestHour />}
      {adding && <AgentForm onClose={() => setAdding(false)} onSaved={(a) => { setAdding(false); setShown(a); reload(); }} />}
    </>
  );
}

// the hour of the daily digests, for every project that opts in (in its
// board settings), in the workspace's time zone
function DigestHour() {
  const { data, error, reload } = useLoad((s) => read('/api/v1/agent-settings', {}, { signal: s }), []);
  const toast = useToast();
  const save = async (hour: number) => {
    try {
      await write('patch', '/api/v1/agent-settings', {}, { digest_hour: hour });
      toast(`Daily digests at ${String(hour).padStart(2, '0')}:00.`);
      reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };
  return (
    <section className="stack digest-hour">
      <ErrorNote error={error} onRetry={reload} />
      {data && (
        <label className="row small">
          <span className="muted">Daily digests at</span>
          <select aria-label="The hour of the daily digests" value={data.digest_hour} onChange={(e) => save(Number(e.target.value))}>
            {Array.from({ length: 24 }, (_, h) => <option key={h} value={h}>{String(h).padStart(2, '0')}:00</option>)}
          </select>
          <span className="muted">{data.time_zone}; next {new Date(data.next_digest_at).toLocaleString()}</span>
        </label>
      )}
    </section>
  );
}

function AgentForm({ onClose, onSaved }: { onClose: () => void; onSaved: (a: Agent) => void }) {
  const [kind, setKind] = useState<'external' | 'builtin'>('external');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (ev: FormEvent<HTMLFormElement>) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const body: AgentCreate = { name: String(f.get('name') || '').trim(), kind };
    if (kind === 'builtin') {
      const b = BUILTINS.find((x) => x === f.get('builtin'));
      body.builtin = b || null;
    } else {
      const url = String(f.get('webhook_url') || '').trim();
      if (url) body.webhook_url = url;
      body.scopes = ACCESS.find((x) => x.value === f.get('access'))?.scopes ?? [];
    }
    setBusy(true);
    try {
      onSaved(await write('post', '/api/v1/agents', {}, body));
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <Modal title="Add an agent" onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <ErrorNote error={error} />
        <Field label="Name"><input name="name" required maxLength={80} autoFocus /></Field>
        <Field label="Kind">
          <select name="kind" value={kind} onChange={(e) => setKind(e.target.value === 'builtin' ? 'builtin' : 'external')}>
            <option value="external">External (its own sandbox, reports back with its token)</option>
            <option value="builtin">Built-in (runs here through the workspace's model)</option>
          </select>
        </Field>
        {kind === 'builtin' ? (
          <Field label="Which">
            <select name="builtin">{BUILTINS.map((b) => <option key={b} value={b}>{b}: {BUILTIN_TEXT[b]}</option>)}</select>
          </Field>
        ) : (
          <Field label="Webhook URL" hint="Where it hears of new sessions and of people's answers, signed.">
            <input name="webhook_url" type="url" maxLength={2000} placeholder="https://ci.example.com/kanban-agent" />
          </Field>
        )}
        {kind === 'external' && (
          <Field label="What its token may do" hint="Besides reporting on its sessions. Its changes are in the activity log as its own; it is never an admin.">
            <select name="access" defaultValue="none">{ACCESS.map((x) => <option key={x.value} value={x.value}>{x.label}</option>)}</select>
          </Field>
        )}
        <div className="row end">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn primary" disabled={busy}>Add agent</button>
        </div>
      </form>
    </Modal>
  );
}
