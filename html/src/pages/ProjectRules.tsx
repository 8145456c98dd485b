// A project's rules: "when this happens, if this holds, do that", made and
// changed by its managers, and the runs log every member reads (each run,
// each action's outcome, why a failed one failed).
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router-dom';
import { read, write } from '../api/client';
import { usePeople } from '../api/people';
import type { Column, Schema } from '../api/types';
import { canManage, useAuth } from '../auth';
import { ago, label } from '../ui/format';
import { Empty, ErrorNote, Field, Spinner, useLoad, useToast } from '../ui/kit';
import { ProjectTabs } from './ProjectTabs';

type Rule = Schema<'Rule'>;
type Trigger = Schema<'RuleTrigger'>;
type Condition = Schema<'RuleCondition'>;
type Action = Schema<'RuleAction'>;

const TRIGGERS: [Trigger['type'], string][] = [
  ['task_created', 'A task is created'],
  ['task_moved', 'A task is moved'],
  ['label_added', 'A label is added'],
  ['subtasks_done', 'All its subtasks are done'],
  ['time_over_estimate', 'Time logged passes the estimate'],
  ['pull_request_merged', 'A pull request is merged'],
  ['due_soon', 'The due date is near'],
  ['overdue', 'The due date has passed'],
];
const FIELDS: Condition['field'][] = ['priority', 'labels', 'title', 'category', 'column_id', 'assignee_ids',
  'estimate_minutes', 'due_date', 'blocked', 'is_subtask', 'description', 'reporter_id', 'swimlane_id',
  'start_date', 'milestone_id', 'sprint_id'];
const OPS: [Condition['op'], string][] = [['eq', 'is'], ['ne', 'is not'], ['contains', 'contains'],
  ['not_contains', 'does not contain'], ['gt', 'is more than'], ['lt', 'is less than'],
  ['empty', 'is empty'], ['not_empty', 'is not empty']];
const ACTIONS: [Action['type'], string][] = [['move', 'Move to'], ['assign', 'Assign to'], ['label', 'Add label'],
  ['set_priority', 'Set priority'], ['comment', 'Comment'], ['create_subtasks', 'Create subtasks'],
  ['notify', 'Notify'], ['webhook', 'Call webhook']];
const CATEGORIES = ['backlog', 'todo', 'in_progress', 'review', 'done'];
const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;

export default function ProjectRules() {
  const { id } = useParams();
  const { user } = useAuth();
  const manager = canManage(user);
  const project = useLoad((s) => read('/api/v1/projects/{id}', { id: id! }, { signal: s }), [id]);
  const columns = useLoad((s) => read('/api/v1/projects/{id}/columns', { id: id! }, { signal: s }), [id]);
  const rules = useLoad((s) => read('/api/v1/projects/{id}/rules', { id: id! }, { signal: s }), [id]);
  const runs = useLoad((s) => read('/api/v1/projects/{id}/rule-runs', { id: id! }, { query: { limit: 50 }, signal: s }), [id]);
  const [editing, setEditing] = useState<Rule | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const toast = useToast();
  const cols = columns.data?.items || [];
  const colName = (cid?: string | null) => cols.find((c) => c.id === cid)?.name || 'a column';

  const toggle = async (r: Rule) => {
    try {
      await write('patch', '/api/v1/rules/{id}', { id: r.id }, { enabled: !r.enabled, version: r.version });
      rules.reload();
      toast(`${r.name} turned ${r.enabled ? 'off' : 'on'}.`);
    } catch (e) { setError(e); }
  };
  const remove = async (r: Rule) => {
    if (!confirm(`Remove the rule “${r.name}” and its runs?`)) return;
    try {
      await write('delete', '/api/v1/rules/{id}', { id: r.id }, undefined);
      rules.reload();
    } catch (e) { setError(e); }
  };

  if (!project.data) return <div className="page"><ErrorNote error={project.error} onRetry={project.reload} />{!project.error && <Spinner />}</div>;
  return (
    <div className="page">
      <ProjectTabs project={project.data} tab="rules"
        extra={manager && <button type="button" className="btn primary" onClick={() => setEditing('new')}>New rule</button>} />
      <ErrorNote error={error || rules.error} onRetry={rules.reload} />
      <p className="muted small">Rules run as the change that sets them off is saved. A rule that would set itself off again is refused; each run is in the task's activity and in the log below.</p>
      {editing && <RuleEditor projectId={id!} rule={editing === 'new' ? null : editing} columns={cols}
        onClose={() => setEditing(null)} onSaved={() => { setEditing(null); rules.reload(); }} />}
      {!rules.data ? <Spinner /> : rules.data.items.length === 0 ? (
        <Empty title="No rules yet.">{manager ? 'Add one with “New rule”: when a task is moved to Done, notify its reporter, for instance.' : 'A project manager adds rules here.'}</Empty>
      ) : (
        <ul className="rules">
          {rules.data.items.map((r) => (
            <li key={r.id} className={r.enabled ? 'rule card' : 'rule card off'} data-rule-id={r.id}>
              <div className="row between wrap">
                <h3>{r.name} {!r.enabled && <span className="status-pill on_hold">Off</span>}</h3>
                {manager && (
                  <div className="row">
                    <button type="button" className="btn small" onClick={() => setEditing(r)}>Edit</button>
                    <button type="button" className="btn small" onClick={() => toggle(r)}>{r.enabled ? 'Turn off' : 'Turn on'}</button>
                    <button type="button" className="btn small" onClick={() => remove(r)}>Remove</button>
                  </div>
                )}
              </div>
              <p className="rule-line"><strong>When</strong> {whenText(r.trigger, colName)}</p>
              {r.conditions.length > 0 && <p className="rule-line"><strong>If</strong> {r.conditions.map((c) => `${label(c.field)} ${OPS.find((o) => o[0] === c.op)?.[1]}${c.value != null ? ` “${c.value}”` : ''}`).join(' and ')}</p>}
              <p className="rule-line"><strong>Then</strong> {r.actions.map((a) => thenText(a, colName)).join(', then ')}</p>
            </li>
          ))}
        </ul>
      )}
      <h2>Runs</h2>
      <ErrorNote error={runs.error} onRetry={runs.reload} />
      {!runs.data ? <Spinner /> : runs.data.items.length === 0 ? <p className="muted">No rule has run yet.</p> : (
        <table className="data rule-runs">
          <thead><tr><th>When</th><th>Rule</th><th>Task</th><th>Trigger</th><th>Outcome</th></tr></thead>
          <tbody>
            {runs.data.items.map((x) => (
              <tr key={x.id} data-status={x.status}>
                <td>{ago(x.created_at)}</td>
                <td>{x.rule_name}</td>
                <td>{x.task_key || '—'}</td>
                <td>{label(x.trigger)}</td>
                <td>
                  <span className={`status-pill ${x.status === 'succeeded' ? 'active' : x.status === 'failed' ? 'cancelled' : 'on_hold'}`}>{label(x.status)}</span>
                  {x.error && <div className="small muted">{x.error}</div>}
                  {x.actions.filter((a) => !a.ok).map((a, i) => <div key={i} className="small error-text">{label(a.type)}: {a.error}</div>)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function whenText(t: Trigger, colName: (id?: string | null) => string) {
  const base = TRIGGERS.find((x) => x[0] === t.type)?.[1] || t.type;
  if (t.type === 'task_moved' && t.column_id) return `A task is moved to ${colName(t.column_id)}`;
  if (t.type === 'task_moved' && t.category) return `A task is moved to a ${label(t.category)} column`;
  if (t.type === 'label_added' && t.label) return `The label “${t.label}” is added`;
  if (t.type === 'due_soon') return `The due date is ${t.days ?? 1} day(s) away`;
  return base;
}

function thenText(a: Action, colName: (id?: string | null) => string) {
  switch (a.type) {
    case 'move': return `move it to ${colName(a.column_id)}`;
    case 'assign': return 'assign someone';
    case 'label': return `add the label “${a.label}”`;
    case 'set_priority': return `set the priority to ${a.priority}`;
    case 'comment': return 'comment';
    case 'create_subtasks': return `create ${a.titles?.length || 0} subtask(s)`;
    case 'notify': return `notify ${a.to === 'assignees' || a.to === 'reporter' ? `the ${a.to}` : 'a member'}`;
    case 'webhook': return 'call a webhook';
    default: return a.type;
  }
}

// a new action of a type, with what its form shows already chosen
function freshAction(type: Action['type']): Action {
  if (type === 'notify') return { type, to: 'assignees' };
  if (type === 'set_priority') return { type, priority: 'high' };
  return { type };
}

function RuleEditor({ projectId, rule, columns, onClose, onSaved }: {
  projectId: string; rule: Rule | null; columns: Column[]; onClose: () => void; onSaved: () => void;
}) {
  const people = usePeople();
  const [name, setName] = useState(rule?.name || '');
  const [trigger, setTrigger] = useState<Trigger>(rule?.trigger || { type: 'task_moved' });
  const [conditions, setConditions] = useState<Condition[]>(rule?.conditions || []);
  const [actions, setActions] = useState<Action[]>(rule?.actions || [{ type: 'comment', body: '' }]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const setCond = (i: number, c: Partial<Condition>) => setConditions((l) => l.map((x, j) => (j === i ? { ...x, ...c } : x)));
  const setAct = (i: number, a: Partial<Action>) => setActions((l) => l.map((x, j) => (j === i ? { ...x, ...a } : x)));

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    const clean = (t: Trigger): Trigger => Object.fromEntries(Object.entries(t).filter(([, v]) => v !== '' && v != null)) as Trigger;
    const body = {
      name, trigger: clean(trigger),
      conditions: conditions.map((c) => (c.op === 'empty' || c.op === 'not_empty' ? { field: c.field, op: c.op } : { ...c, value: c.value ?? '' })),
      actions: actions.map((a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== '' && v != null)) as Action),
    };
    try {
      if (rule) await write('patch', '/api/v1/rules/{id}', { id: rule.id }, { ...body, version: rule.version });
      else await write('post', '/api/v1/projects/{id}/rules', { id: projectId }, body);
      onSaved();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };

  return (
    <form className="card stack rule-editor" onSubmit={submit} aria-label="Rule">
      <ErrorNote error={error} />
      <Field label="Rule name"><input value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} /></Field>

      <fieldset className="stack">
        <legend>When</legend>
        <div className="row wrap">
          <label className="sr-only" htmlFor="rule-when">When</label>
          <select id="rule-when" value={trigger.type} onChange={(e) => setTrigger({ type: e.target.value as Trigger['type'] })}>
            {TRIGGERS.map(([k, t]) => <option key={k} value={k}>{t}</option>)}
          </select>
          {trigger.type === 'task_moved' && (
            <select aria-label="Into column" value={trigger.column_id || (trigger.category ? `cat:${trigger.category}` : '')}
              onChange={(e) => {
                const v = e.target.value;
                setTrigger({ type: 'task_moved', ...(v.startsWith('cat:') ? { category: v.slice(4) as Trigger['category'] } : v ? { column_id: v } : {}) });
              }}>
              <option value="">into any column</option>
              {columns.map((c) => <option key={c.id} value={c.id}>into {c.name}</option>)}
              {CATEGORIES.map((c) => <option key={c} value={`cat:${c}`}>into any {label(c)} column</option>)}
            </select>
          )}
          {trigger.type === 'label_added' && (
            <input aria-label="Label" placeholder="any label" value={trigger.label || ''} maxLength={100}
              onChange={(e) => setTrigger({ type: 'label_added', label: e.target.value || undefined })} />
          )}
          {trigger.type === 'due_soon' && (
            <input aria-label="Days before" type="number" min={0} max={365} value={trigger.days ?? 1} className="narrow"
              onChange={(e) => setTrigger({ type: 'due_soon', days: Number(e.target.value) })} />
          )}
        </div>
        {(trigger.type === 'due_soon' || trigger.type === 'overdue') && <p className="muted small">Fires when the reminder sweep sees the date.</p>}
      </fieldset>

      <fieldset className="stack">
        <legend>If (all hold)</legend>
        {conditions.map((c, i) => (
          <div key={i} className="row wrap">
            <select aria-label={`Condition ${i + 1} field`} value={c.field} onChange={(e) => setCond(i, { field: e.target.value as Condition['field'] })}>
              {FIELDS.map((f) => <option key={f} value={f}>{label(f)}</option>)}
            </select>
            <select aria-label={`Condition ${i + 1} test`} value={c.op} onChange={(e) => setCond(i, { op: e.target.value as Condition['op'] })}>
              {OPS.map(([k, t]) => <option key={k} value={k}>{t}</option>)}
            </select>
            {c.op !== 'empty' && c.op !== 'not_empty' && (
              <input aria-label={`Condition ${i + 1} value`} value={c.value || ''} maxLength={500} onChange={(e) => setCond(i, { value: e.target.value })} />
            )}
            <button type="button" className="btn small" onClick={() => setConditions((l) => l.filter((_, j) => j !== i))}>Remove</button>
          </div>
        ))}
        <div><button type="button" className="btn small" onClick={() => setConditions((l) => [...l, { field: 'priority', op: 'eq', value: 'high' }])}>Add condition</button></div>
      </fieldset>

      <fieldset className="stack">
        <legend>Then</legend>
        {actions.map((a, i) => (
          <div key={i} className="row wrap">
            <select aria-label={`Action ${i + 1}`} value={a.type}
              onChange={(e) => setActions((l) => l.map((x, j) => (j === i ? freshAction(e.target.value as Action['type']) : x)))}>
              {ACTIONS.map(([k, t]) => <option key={k} value={k}>{t}</option>)}
            </select>
            {a.type === 'move' && (
              <select aria-label={`Action ${i + 1} column`} value={a.column_id || ''} required onChange={(e) => setAct(i, { column_id: e.target.value })}>
                <option value="">choose a column</option>
                {columns.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
              </select>
            )}
            {a.type === 'assign' && (
              <select aria-label={`Action ${i + 1} person`} value={a.user_id || ''} required onChange={(e) => setAct(i, { user_id: e.target.value })}>
                <option value="">choose someone</option>
                {people.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
              </select>
            )}
            {a.type === 'label' && <input aria-label={`Action ${i + 1} label`} value={a.label || ''} required maxLength={100} onChange={(e) => setAct(i, { label: e.target.value })} />}
            {a.type === 'set_priority' && (
              <select aria-label={`Action ${i + 1} priority`} value={a.priority || 'high'} onChange={(e) => setAct(i, { priority: e.target.value as Action['priority'] })}>
                {PRIORITIES.map((p) => <option key={p} value={p}>{label(p)}</option>)}
              </select>
            )}
            {a.type === 'comment' && <input aria-label={`Action ${i + 1} comment`} className="grow" value={a.body || ''} required maxLength={20000} onChange={(e) => setAct(i, { body: e.target.value })} />}
            {a.type === 'create_subtasks' && (
              <input aria-label={`Action ${i + 1} subtasks`} className="grow" placeholder="Titles, one per comma" value={(a.titles || []).join(', ')} required
                onChange={(e) => setAct(i, { titles: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) })} />
            )}
            {a.type === 'notify' && (
              <>
                <select aria-label={`Action ${i + 1} whom`} value={a.to || 'assignees'} onChange={(e) => setAct(i, { to: e.target.value })}>
                  <option value="assignees">the assignees</option>
                  <option value="reporter">the reporter</option>
                  {people.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
                </select>
                <input aria-label={`Action ${i + 1} message`} className="grow" placeholder="Message" value={a.message || ''} maxLength={500} onChange={(e) => setAct(i, { message: e.target.value })} />
              </>
            )}
            {a.type === 'webhook' && <input aria-label={`Action ${i + 1} webhook id`} placeholder="Webhook id (Admin → Webhooks)" value={a.webhook_id || ''} required onChange={(e) => setAct(i, { webhook_id: e.target.value })} />}
            {actions.length > 1 && <button type="button" className="btn small" onClick={() => setActions((l) => l.filter((_, j) => j !== i))}>Remove</button>}
          </div>
        ))}
        <div><button type="button" className="btn small" onClick={() => setActions((l) => [...l, { type: 'label', label: '' }])}>Add action</button></div>
      </fieldset>

      <div className="row end">
        <button type="button" className="btn" onClick={onClose}>Cancel</button>
        <button className="btn primary" disabled={busy}>{rule ? 'Save rule' : 'Add rule'}</button>
      </div>
    </form>
  );
}
