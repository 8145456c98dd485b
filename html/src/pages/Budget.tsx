// A project's budget for its managers: hours and money spent, billable and
// remaining against the budget, the thresholds crossed; the billable report
// of a period (a CSV download or a printable page an invoice is written
// from); and for admins, the billable rates with the dates they take effect.
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router-dom';
import { download, errorMessage, read, request, write } from '../api/client';
import { usePeople } from '../api/people';
import { canManage, useAuth } from '../auth';
import { addDays, hoursDecimal, label, longDate, money, today } from '../ui/format';
import { ErrorNote, Field, Progress, Spinner, useLoad, useToast } from '../ui/kit';
import { ProjectTabs } from './ProjectTabs';


export default function Budget() {
  const { id = '' } = useParams();
  const { user } = useAuth();
  const project = useLoad((s) => read('/api/v1/projects/{id}', { id }, { signal: s }), [id]);
  const budget = useLoad((s) => read('/api/v1/projects/{id}/budget', { id }, { signal: s }), [id]);
  const b = budget.data;
  return (
    <div className="page">
      {project.data && <ProjectTabs project={project.data} tab="budget" />}
      {!b ? (budget.error ? <ErrorNote error={budget.error} onRetry={budget.reload} /> : <Spinner />) : (
        <>
          <div className="dash-grid">
            <section className="box" aria-labelledby="spent-h" data-testid="budget-figures">
              <h3 id="spent-h">Spent</h3>
              <div className="kpis">
                <div><b>{hoursDecimal(b.spent_minutes)} h</b><span>logged{b.hours !== null ? ` of ${b.hours} h` : ''}</span></div>
                <div><b>{hoursDecimal(b.billable_minutes)} h</b><span>billable</span></div>
                <div><b>{money(b.billable_amount, b.currency)}</b><span>billed{b.amount !== null ? ` of ${money(b.amount, b.currency)}` : ''}</span></div>
              </div>
              {b.hours_used !== null && (
                <p>Hours: <Progress value={b.hours_used * 100} label="Hours used" /> {Math.round(b.hours_used * 100)} %,{' '}
                  <span className={b.remaining_minutes! < 0 ? 'danger-text' : ''}>{hoursDecimal(b.remaining_minutes!)} h left</span></p>
              )}
              {b.amount_used !== null && (
                <p>Money: <Progress value={b.amount_used * 100} label="Money used" /> {Math.round(b.amount_used * 100)} %,{' '}
                  <span className={b.remaining_amount! < 0 ? 'danger-text' : ''}>{money(b.remaining_amount, b.currency)} left</span></p>
              )}
              {b.alerts.length > 0 && (
                <ul className="reasons" aria-label="Thresholds crossed">
                  {b.alerts.map((a) => (
                    <li key={`${a.measure}${a.threshold}`}><b>{a.threshold} %</b> of the {a.measure === 'hours' ? 'hours' : 'money'} budget, {longDate(a.crossed_at.slice(0, 10))}</li>
                  ))}
                </ul>
              )}
            </section>
            <BudgetForm id={id} hours={b.hours} amount={b.amount} currency={b.currency} onSaved={budget.reload} />
          </div>
          <BillableReport id={id} projectKey={project.data?.key || 'project'} />
          {user?.role === 'admin' && <Rates projectId={id} onChanged={budget.reload} />}
        </>
      )}
      {!canManage(user) && <p className="muted">Budgets are for the project's managers.</p>}
    </div>
  );
}

function BudgetForm({ id, hours, amount, currency, onSaved }: {
  id: string; hours: number | null; amount: number | null; currency: string; onSaved: () => void;
}) {
  const toast = useToast();
  const [h, setH] = useState(hours === null ? '' : String(hours));
  const [a, setA] = useState(amount === null ? '' : String(amount));
  const [c, setC] = useState(currency);
  const [busy, setBusy] = useState(false);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await write('put', '/api/v1/projects/{id}/budget', { id }, {
        hours: h === '' ? null : Number(h), amount: a === '' ? null : Number(a), currency: c.toUpperCase() });
      toast('Budget saved.');
      onSaved();
    } catch (err) { toast(errorMessage(err), 'error'); } finally { setBusy(false); }
  };
  return (
    <form className="box" onSubmit={save} aria-labelledby="budget-h">
      <h3 id="budget-h">Budget</h3>
      <p className="muted small">Its managers are notified, and mailed, when 80 % and 100 % are reached.</p>
      <Field label="Hours"><input type="number" min="0.01" step="0.01" value={h} onChange={(e) => setH(e.target.value)} placeholder="none" /></Field>
      <Field label="Money"><input type="number" min="0.01" step="0.01" value={a} onChange={(e) => setA(e.target.value)} placeholder="none" /></Field>
      <Field label="Currency"><input value={c} maxLength={3} onChange={(e) => setC(e.target.value)} /></Field>
      <button className="btn primary" disabled={busy}>Save budget</button>
    </form>
  );
}

function BillableReport({ id, projectKey }: { id: string; projectKey: string }) {
  const toast = useToast();
  const [from, setFrom] = useState(today().slice(0, 8) + '01');
  const [to, setTo] = useState(today());
  const report = useLoad((s) => read('/api/v1/projects/{id}/billable-report', { id }, { query: { from, to }, signal: s }), [id, from, to]);
  const r = report.data;
  const path = (format: string) => `/api/v1/projects/${id}/billable-report?from=${from}&to=${to}&format=${format}`;
  const csv = async () => {
    try { await download(path('csv'), `billable-${projectKey}-${from}-${to}.csv`, 'text/csv'); }
    catch (e) { toast(errorMessage(e), 'error'); }
  };
  const printable = async () => {
    // the page needs the API's token, so it is fetched and opened as a blob
    const w = window.open('', '_blank');
    try {
      const resp = await request('GET', path('html'), { accept: 'text/html' });
      const url = URL.createObjectURL(await resp.blob());
      if (w) w.location.href = url; else window.location.href = url;
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) { w?.close(); toast(errorMessage(e), 'error'); }
  };
  return (
    <section className="box" aria-labelledby="report-h" style={{ marginBottom: '1rem' }}>
      <div className="row between wrap">
        <h3 id="report-h">Billable report</h3>
        <div className="row">
          <label>From <input type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value || addDays(to, -29))} /></label>
          <label>To <input type="date" value={to} min={from} onChange={(e) => setTo(e.target.value || today())} /></label>
          <button type="button" className="btn small" onClick={csv}>Download CSV</button>
          <button type="button" className="btn small" onClick={printable}>Printable page</button>
        </div>
      </div>
      {report.error ? <ErrorNote error={report.error} onRetry={report.reload} /> : !r ? <Spinner /> : (
        <table className="data" data-testid="billable-people">
          <thead><tr><th>Person</th><th className="num">Hours</th><th className="num">Amount ({r.currency})</th></tr></thead>
          <tbody>
            {r.people.length === 0 && <tr><td colSpan={3} className="muted">Nothing billable in this period.</td></tr>}
            {r.people.map((p) => (
              <tr key={p.user_id}><td>{p.person}</td><td className="num">{hoursDecimal(p.minutes)}</td><td className="num">{p.amount.toFixed(2)}</td></tr>
            ))}
          </tbody>
          <tfoot><tr><th>Total</th><th className="num">{hoursDecimal(r.total_minutes)}</th><th className="num">{r.total_amount.toFixed(2)}</th></tr></tfoot>
        </table>
      )}
      {r && r.unrated_lines > 0 && <p className="warn-text">{r.unrated_lines} billable entries have no rate in effect on their day and bill nothing.</p>}
    </section>
  );
}

type Scope = 'default' | 'person' | 'role';

function Rates({ projectId, onChanged }: { projectId: string; onChanged: () => void }) {
  const toast = useToast();
  const people = usePeople();
  const rates = useLoad((s) => read('/api/v1/billing/rates', {}, { signal: s }), []);
  const [scope, setScope] = useState<Scope>('person');
  const [who, setWho] = useState('');
  const [role, setRole] = useState<'admin' | 'project_manager' | 'contributor'>('contributor');
  const [onlyHere, setOnlyHere] = useState(false);
  const [rate, setRate] = useState('');
  const [from, setFrom] = useState(today());
  const name = (uid: string | null) => people.find((p) => p.id === uid)?.name || 'someone';
  const add = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await write('post', '/api/v1/billing/rates', {}, {
        hourly_rate: Number(rate), effective_from: from,
        user_id: scope === 'person' ? who || null : null,
        role: scope === 'role' ? role : null,
        project_id: onlyHere ? projectId : null });
      toast('Rate added.');
      setRate('');
      rates.reload(); onChanged();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  const remove = async (rid: string) => {
    try { await write('delete', '/api/v1/billing/rates/{id}', { id: rid }, undefined); rates.reload(); onChanged(); }
    catch (err) { toast(errorMessage(err), 'error'); }
  };
  const items = (rates.data?.items || []).filter((r) => !r.project_id || r.project_id === projectId);
  return (
    <section className="box" aria-labelledby="rates-h">
      <h3 id="rates-h">Billable rates</h3>
      <p className="muted small">A rate bills from its date on; what came before keeps its rate. The most specific applies: the person on this project, the person, the role on this project, the project, the role, the default.</p>
      <table className="data" data-testid="rates">
        <thead><tr><th>Of</th><th>Project</th><th className="num">Per hour</th><th>From</th><th /></tr></thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.id}>
              <td>{r.user_id ? name(r.user_id) : r.role ? label(r.role) : 'Everyone (default)'}</td>
              <td>{r.project_id ? 'This project' : 'All'}</td>
              <td className="num">{r.hourly_rate.toFixed(2)}</td>
              <td>{longDate(r.effective_from)}</td>
              <td><button type="button" className="btn ghost small" onClick={() => remove(r.id)} aria-label="Remove rate">Remove</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="row wrap" onSubmit={add} aria-label="Add a rate">
        <select value={scope} onChange={(e) => setScope(e.target.value as Scope)} aria-label="Rate of">
          <option value="person">A person</option><option value="role">A role</option><option value="default">Everyone</option>
        </select>
        {scope === 'person' && (
          <select value={who} onChange={(e) => setWho(e.target.value)} aria-label="Person" required>
            <option value="">Choose…</option>
            {people.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
        )}
        {scope === 'role' && (
          <select value={role} onChange={(e) => setRole(e.target.value as typeof role)} aria-label="Role">
            <option value="contributor">Contributor</option><option value="project_manager">Project manager</option><option value="admin">Admin</option>
          </select>
        )}
        <label><input type="checkbox" checked={onlyHere} onChange={(e) => setOnlyHere(e.target.checked)} /> on this project only</label>
        <input type="number" min="0" step="0.01" value={rate} onChange={(e) => setRate(e.target.value)} placeholder="per hour" aria-label="Hourly rate" required />
        <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} aria-label="Takes effect on" required />
        <button className="btn">Add rate</button>
      </form>
    </section>
  );
}
