// Admin → Webhooks: the workspace's webhooks (URL, events, on or off, why
// one was turned off), a new one with its secret shown once, edit, ping,
// delete, and each webhook's newest deliveries with their attempts,
// answers and next retry. The API has no redelivery: a failed delivery is
// retried by the server until its window ends.
import { useState, type FormEvent } from 'react';
import { errorMessage, read, write } from '../api/client';
import type { Webhook, WebhookDelivery, WebhookEvent, WebhookPatch, WebhookRequest } from '../api/types';
import { ago, label } from '../ui/format';
import { Empty, ErrorNote, Field, Modal, Spinner, useLoad, useToast } from '../ui/kit';

// The document's event names, '*' first ("all of them"); a change there
// breaks the build through WebhookEvent.
const EVENTS: WebhookEvent[] = [
  '*', 'task.created', 'task.updated', 'task.moved', 'task.deleted', 'comment.created',
  'project.created', 'project.updated', 'project.deleted', 'milestone.updated',
  'timesheet.submitted', 'timesheet.approved', 'share_link.visited', 'insight.generated',
];
const isEvent = (v: unknown): v is WebhookEvent => EVENTS.some((e) => e === v);
const eventsText = (ev: WebhookEvent[]) => (ev.includes('*') ? 'All events' : ev.join(', '));

export default function AdminWebhooks() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/webhooks', {}, { signal: s }), []);
  const [editing, setEditing] = useState<Webhook | 'new' | null>(null);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const toast = useToast();

  const patch = async (w: Webhook, body: WebhookPatch, done: string) => {
    try { await write('patch', '/api/v1/webhooks/{id}', { id: w.id }, body); toast(done); reload(); } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const remove = async (w: Webhook) => {
    if (!confirm(`Delete the webhook to ${w.url} and its deliveries?`)) return;
    try { await write('delete', '/api/v1/webhooks/{id}', { id: w.id }, undefined); toast('Webhook deleted.'); reload(); } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const ping = async (w: Webhook) => {
    try {
      await write('post', '/api/v1/webhooks/{id}/test', { id: w.id }, undefined);
      toast('Ping queued: it shows in the deliveries in a moment.');
      setOpen(w.id);
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  return (
    <>
      <div className="row between wrap">
        <p className="muted">Other systems hear of the workspace's events as signed JSON POSTs (header X-Kanban-Signature).</p>
        <button type="button" className="btn primary" onClick={() => setEditing('new')}>New webhook</button>
      </div>
      {secret && (
        <div className="banner warn" role="status">
          The signing secret of {secret.url}. Copy it now: it is shown only once.
          <div className="secret" data-testid="webhook-secret">{secret.secret}</div>
          <button type="button" className="btn small" onClick={() => setSecret(null)}>I have copied it</button>
        </div>
      )}
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner label="Loading webhooks…" /> : !data?.items.length ? (
        <Empty title="No webhooks yet.">Add one with “New webhook”: a URL that accepts POSTs, and the events to send it.</Empty>
      ) : (
        <ul className="plain-list webhook-list">
          {data.items.map((w) => (
            <li key={w.id} className="box webhook" data-webhook-id={w.id}>
              <div className="row between wrap">
                <div className="webhook-head">
                  <span className="webhook-url">{w.url}</span>
                  <span className={`status-pill ${w.enabled ? 'active' : 'cancelled'}`}>{w.enabled ? 'Enabled' : 'Disabled'}</span>
                </div>
                <div className="row wrap">
                  <button type="button" className="btn small" onClick={() => setOpen(open === w.id ? null : w.id)}
                    aria-expanded={open === w.id}>{open === w.id ? 'Hide deliveries' : 'Deliveries'}</button>
                  <button type="button" className="btn small" onClick={() => ping(w)}>Send test</button>
                  <button type="button" className="btn small" onClick={() => setEditing(w)}>Edit</button>
                  <button type="button" className="btn small"
                    onClick={() => patch(w, { enabled: !w.enabled }, w.enabled ? 'Webhook disabled.' : 'Webhook enabled.')}>
                    {w.enabled ? 'Disable' : 'Enable'}</button>
                  <button type="button" className="btn small danger-ghost" onClick={() => remove(w)}>Delete</button>
                </div>
              </div>
              <p className="muted small">{eventsText(w.events)} · added {ago(w.created_at)}</p>
              {!w.enabled && w.disabled_reason && <p className="flag bad">Disabled: {w.disabled_reason}</p>}
              {w.enabled && w.failing_since && <p className="flag">Failing since {new Date(w.failing_since).toLocaleString()}</p>}
              {open === w.id && <Deliveries webhook={w} />}
            </li>
          ))}
        </ul>
      )}
      {editing && (
        <WebhookForm webhook={editing === 'new' ? null : editing} onClose={() => setEditing(null)}
          onSaved={(url, s) => { setEditing(null); if (s) setSecret({ url, secret: s }); reload(); }} />
      )}
    </>
  );
}

function WebhookForm({ webhook, onClose, onSaved }: {
  webhook: Webhook | null; onClose: () => void; onSaved: (url: string, secret?: string) => void;
}) {
  const [events, setEvents] = useState<WebhookEvent[]>(webhook?.events || ['task.created', 'task.moved']);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (e: WebhookEvent, on: boolean) => setEvents((l) => {
    if (e === '*') return on ? ['*'] : [];
    const rest = l.filter((x) => x !== '*' && x !== e);
    return on ? [...rest, e] : rest;
  });
  const submit = async (ev: FormEvent<HTMLFormElement>) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const url = String(f.get('url') || '').trim();
    const secret = String(f.get('secret') || '');
    if (!events.length) { setError(new Error('Choose at least one event.')); return; }
    setBusy(true);
    try {
      if (webhook) {
        const body: WebhookPatch = { url, events: events.filter(isEvent) };
        if (secret) body.secret = secret;
        await write('patch', '/api/v1/webhooks/{id}', { id: webhook.id }, body);
        onSaved(url);
      } else {
        const body: WebhookRequest = { url, events };
        if (secret) body.secret = secret;
        const w = await write('post', '/api/v1/webhooks', {}, body);
        onSaved(w.url, w.secret);
      }
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <Modal title={webhook ? 'Edit webhook' : 'New webhook'} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorNote error={error} />
        <Field label="URL" hint="http or https; a public address (private ones are refused).">
          <input name="url" type="url" required minLength={10} maxLength={2000} autoFocus
            defaultValue={webhook?.url} placeholder="https://hooks.example.com/kanban" />
        </Field>
        <fieldset className="events-pick">
          <legend className="field-label">Events</legend>
          {EVENTS.map((e) => (
            <label key={e} className="check">
              <input type="checkbox" checked={events.includes(e)} onChange={(x) => toggle(e, x.target.checked)} />
              {e === '*' ? 'All events' : label(e.replace('.', ' '))}
            </label>
          ))}
        </fieldset>
        <Field label={webhook ? 'New secret (optional)' : 'Secret (optional)'}
          hint={webhook ? 'Leave empty to keep the current one.' : 'Leave empty and one is drawn for you, shown once.'}>
          <input name="secret" type="password" minLength={16} maxLength={200} autoComplete="off" />
        </Field>
        <div className="row end">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button className="btn primary" disabled={busy}>{busy ? 'Saving…' : webhook ? 'Save' : 'Create webhook'}</button>
        </div>
      </form>
    </Modal>
  );
}

function Deliveries({ webhook }: { webhook: Webhook }) {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/webhooks/{id}/deliveries', { id: webhook.id }, { signal: s }), [webhook.id]);
  return (
    <section className="deliveries" aria-label={`Deliveries to ${webhook.url}`}>
      <div className="row between"><h3>Newest deliveries</h3>
        <button type="button" className="btn small ghost" onClick={reload} disabled={loading}>{loading ? 'Loading…' : 'Refresh'}</button></div>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner /> : !data?.items.length ? (
        <p className="muted small">Nothing sent yet. Events of the kinds chosen are sent as they happen; “Send test” sends a ping.</p>
      ) : (
        <div className="table-wrap">
          <table className="data">
            <thead><tr><th>Event</th><th>Status</th><th className="num">Attempts</th><th>Answer</th><th className="num">Time</th><th>Last try</th><th>Next try</th></tr></thead>
            <tbody>{data.items.map((d) => <DeliveryRow key={d.id} d={d} />)}</tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DeliveryRow({ d }: { d: WebhookDelivery }) {
  const pill = d.status === 'delivered' ? 'active' : d.status === 'failed' ? 'cancelled' : 'on_hold';
  return (
    <tr data-delivery-status={d.status}>
      <td>{d.type}{d.event_id != null && <span className="muted small"> #{d.event_id}</span>}</td>
      <td><span className={`status-pill ${pill}`}>{label(d.status)}</span></td>
      <td className="num">{d.attempts}</td>
      <td>{d.response_code ?? '—'}{d.error && d.error !== `HTTP ${d.response_code}` && <span className="muted small"> {d.error}</span>}</td>
      <td className="num">{d.response_ms == null ? '—' : `${d.response_ms} ms`}</td>
      <td>{d.last_attempt_at ? ago(d.last_attempt_at) : '—'}</td>
      <td>{d.status === 'pending' && d.next_attempt_at ? new Date(d.next_attempt_at).toLocaleTimeString() : '—'}</td>
    </tr>
  );
}
