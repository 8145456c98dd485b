// Working time: what a person owes and what they worked. The week's days
// against their targets (the weekly pattern, public holidays and approved
// absences), the breaks against the workspace's rules, and the overtime
// balance carried from week to week; absences requested here and decided
// by a manager; for admins, the holidays (an iCalendar import), the break
// rules and each person's weekly pattern.
import { useState, type FormEvent } from 'react';
import { errorMessage, read, request, write } from '../api/client';
import { usePeople } from '../api/people';
import { canManage, useAuth } from '../auth';
import { addDays, dayName, hours, isoDate, label, shiftWeek, shortDate, thisWeek, weekMonday } from '../ui/format';
import { Avatar, Empty, ErrorNote, Field, Spinner, useLoad, useToast } from '../ui/kit';

const signed = (m: number) => `${m < 0 ? '−' : '+'}${hours(Math.abs(m))}`;

export default function WorkingTime() {
  const { user } = useAuth();
  const [week, setWeek] = useState(thisWeek());
  const from = isoDate(weekMonday(week));
  const to = addDays(from, 6);
  const wt = useLoad((s) => read('/api/v1/timesheets/working-time', {}, { query: { from, to }, signal: s }), [from]);
  const w = wt.data;
  return (
    <div className="page">
      <div className="page-head">
        <h1>Working time</h1>
        <div className="row">
          <button type="button" className="btn small" onClick={() => setWeek(shiftWeek(week, -1))} aria-label="Previous week">‹</button>
          <strong>{week}</strong>
          <button type="button" className="btn small" onClick={() => setWeek(shiftWeek(week, 1))} aria-label="Next week">›</button>
        </div>
      </div>
      <ErrorNote error={wt.error} onRetry={wt.reload} />
      {!w ? <Spinner /> : (
        <section className="box" aria-labelledby="week-h" data-testid="working-week" style={{ marginBottom: '1rem' }}>
          <h3 id="week-h">This week against the target</h3>
          <div className="kpis">
            <div><b>{hours(w.target_minutes)}</b><span>target</span></div>
            <div><b>{hours(w.worked_minutes)}</b><span>worked</span></div>
            <div><b className={w.closing_balance_minutes < 0 ? 'danger-text' : ''}>{signed(w.closing_balance_minutes)}</b>
              <span>balance (carried in: {signed(w.opening_balance_minutes)})</span></div>
            <div><b className={w.break_violations ? 'danger-text' : ''}>{w.break_violations}</b><span>days short of a break</span></div>
          </div>
          <table className="data">
            <thead><tr><th>Day</th><th className="num">Target</th><th className="num">Worked</th><th className="num">Break</th><th>Note</th></tr></thead>
            <tbody>
              {w.days.map((d) => (
                <tr key={d.date}>
                  <td>{dayName(d.date)} {shortDate(d.date)}</td>
                  <td className="num">{hours(d.target_minutes)}</td>
                  <td className="num">{hours(d.worked_minutes)}</td>
                  <td className="num">{d.break_minutes ? `${d.break_minutes} min` : '—'}</td>
                  <td>
                    {d.day_off && <span className="status-pill approved">{label(d.day_off)}</span>}{' '}
                    {!d.break_ok && <span className="danger-text">needs {d.required_break_minutes} min of break</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <div className="dash-grid">
        <MyAbsences onChanged={wt.reload} />
        {canManage(user) && <AbsenceQueue onChanged={wt.reload} />}
        <ImportTime onImported={wt.reload} />
      </div>
      {user?.role === 'admin' && (
        <div className="dash-grid">
          <Holidays onChanged={wt.reload} />
          <BreakRules onChanged={wt.reload} />
          <Pattern onChanged={wt.reload} />
        </div>
      )}
    </div>
  );
}

function MyAbsences({ onChanged }: { onChanged: () => void }) {
  const { user } = useAuth();
  const toast = useToast();
  const list = useLoad((s) => read('/api/v1/absences', {}, { query: { user_id: user?.id }, signal: s }), [user?.id]);
  const [kind, setKind] = useState<'vacation' | 'sick' | 'other'>('vacation');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [half, setHalf] = useState(false);
  const ask = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await write('post', '/api/v1/absences', {}, { kind, start_date: start, end_date: half ? start : end || start, half_day: half });
      toast('Absence requested.');
      list.reload(); onChanged();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  const cancel = async (id: string) => {
    try { await write('post', '/api/v1/absences/{id}/cancel', { id }, undefined); list.reload(); onChanged(); }
    catch (err) { toast(errorMessage(err), 'error'); }
  };
  return (
    <section className="box" aria-labelledby="absences-h">
      <h3 id="absences-h">My absences</h3>
      <ErrorNote error={list.error} onRetry={list.reload} />
      <ul className="reasons" data-testid="my-absences">
        {list.data?.items.map((a) => (
          <li key={a.id}>
            <b>{label(a.kind)}</b> {shortDate(a.start_date)}{a.end_date !== a.start_date ? ` – ${shortDate(a.end_date)}` : ''}{' '}
            ({a.half_day ? 'half a day' : `${a.working_days} days`}) <span className={`status-pill ${a.status}`}>{label(a.status)}</span>
            {a.reason ? <span className="muted"> “{a.reason}”</span> : null}
            {(a.status === 'requested' || a.status === 'approved') &&
              <button type="button" className="btn ghost small" onClick={() => cancel(a.id)}>Cancel</button>}
          </li>
        ))}
      </ul>
      <form className="row wrap" onSubmit={ask} aria-label="Request an absence">
        <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)} aria-label="Kind">
          <option value="vacation">Vacation</option><option value="sick">Sick</option><option value="other">Other</option>
        </select>
        <input type="date" value={start} onChange={(e) => setStart(e.target.value)} aria-label="First day" required />
        {!half && <input type="date" value={end} min={start} onChange={(e) => setEnd(e.target.value)} aria-label="Last day" />}
        <label className="row small"><input type="checkbox" checked={half} onChange={(e) => setHalf(e.target.checked)} /> Half a day</label>
        <button className="btn">Request</button>
      </form>
    </section>
  );
}

function AbsenceQueue({ onChanged }: { onChanged: () => void }) {
  const { user } = useAuth();
  const toast = useToast();
  const list = useLoad((s) => read('/api/v1/absences', {}, { query: { status: 'requested' }, signal: s }), []);
  const items = (list.data?.items || []).filter((a) => a.user_id !== user?.id);
  const decide = async (id: string, approve: boolean) => {
    try {
      if (approve) await write('post', '/api/v1/absences/{id}/approve', { id }, undefined);
      else {
        const reason = window.prompt('Why is it rejected?') || '';
        if (!reason) return;
        await write('post', '/api/v1/absences/{id}/reject', { id }, { reason });
      }
      list.reload(); onChanged();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  return (
    <section className="box" aria-labelledby="queue-h">
      <h3 id="queue-h">Absences to decide</h3>
      {items.length === 0 ? <Empty title="Nothing waits for you." /> : (
        <ul className="reasons" data-testid="absence-queue">
          {items.map((a) => (
            <li key={a.id} className="row wrap">
              <Avatar name={a.user.name} /> {a.user.name}: <b>{label(a.kind)}</b> {shortDate(a.start_date)}
              {a.end_date !== a.start_date ? ` – ${shortDate(a.end_date)}` : ''} ({a.half_day ? 'half a day' : `${a.working_days} days`})
              <button type="button" className="btn small ok" onClick={() => decide(a.id, true)}>Approve</button>
              <button type="button" className="btn small" onClick={() => decide(a.id, false)}>Reject</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Holidays({ onChanged }: { onChanged: () => void }) {
  const toast = useToast();
  const list = useLoad((s) => read('/api/v1/holidays', {}, { signal: s }), []);
  const upload = async (file: File | undefined) => {
    if (!file) return;
    try {
      const r = await fetchIcs(file);
      toast(`${r.imported} holidays imported.`);
      list.reload(); onChanged();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  return (
    <section className="box" aria-labelledby="holidays-h">
      <h3 id="holidays-h">Public holidays</h3>
      <label className="btn small">Import .ics<input type="file" accept=".ics,text/calendar" hidden
        onChange={(e) => { void upload(e.target.files?.[0]); e.target.value = ''; }} /></label>
      <ul className="reasons" data-testid="holidays">
        {list.data?.items.map((h) => <li key={h.date}>{shortDate(h.date)}: {h.name}</li>)}
      </ul>
    </section>
  );
}

async function fetchIcs(file: File) {
  const r = await request('POST', '/api/v1/holidays/import', { raw: file, headers: { 'Content-Type': 'text/calendar' } });
  return r.json() as Promise<{ imported: number }>;
}

type Source = 'toggl' | 'clockify' | 'kimai';

// Time tracked elsewhere, moved in: a tracker's CSV export, all or nothing.
function ImportTime({ onImported }: { onImported: () => void }) {
  const toast = useToast();
  const [source, setSource] = useState<Source>('toggl');
  const [result, setResult] = useState<string>('');
  const [problem, setProblem] = useState<string>('');
  const upload = async (file: File | undefined) => {
    if (!file) return;
    setResult(''); setProblem('');
    try {
      const r = await request('POST', `/api/v1/timesheets/import?source=${source}`, { raw: file, headers: { 'Content-Type': 'text/csv' } });
      const j = await r.json() as { imported: number; minutes: number };
      setResult(`${j.imported} ${j.imported === 1 ? 'entry' : 'entries'} (${hours(j.minutes)}) imported.`);
      toast('Time imported.');
      onImported();
    } catch (err) { setProblem(errorMessage(err)); }
  };
  return (
    <section className="box" aria-labelledby="import-h">
      <h3 id="import-h">Import time</h3>
      <p className="muted small">A CSV export of another tracker (its detailed report), matched to people by email and to projects by name. All or nothing: a bad row is named and nothing is kept.</p>
      <div className="row wrap">
        <select value={source} onChange={(e) => setSource(e.target.value as Source)} aria-label="Exported from">
          <option value="toggl">Toggl Track</option><option value="clockify">Clockify</option><option value="kimai">Kimai</option>
        </select>
        <label className="btn small">Choose CSV…<input type="file" accept=".csv,text/csv" hidden aria-label="CSV export"
          onChange={(e) => { void upload(e.target.files?.[0]); e.target.value = ''; }} /></label>
      </div>
      {result && <p data-testid="import-result">{result}</p>}
      {problem && <p className="danger-text" role="alert" data-testid="import-problem">{problem}</p>}
    </section>
  );
}

function BreakRules({ onChanged }: { onChanged: () => void }) {
  const toast = useToast();
  const rules = useLoad((s) => read('/api/v1/timesheets/break-rules', {}, { signal: s }), []);
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (rules.data?.rules.map((r) => `${r.break_minutes} after ${r.after_minutes / 60}`).join(', ') || '');
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const parsed = shown.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
      const m = /^(\d+)\s*after\s*([\d.]+)$/.exec(x);
      return m ? { break_minutes: Number(m[1]), after_minutes: Math.round(Number(m[2]) * 60) } : null;
    });
    if (parsed.some((x) => x === null)) { toast('Write each rule as “30 after 6” (minutes after hours).', 'error'); return; }
    try {
      await write('put', '/api/v1/timesheets/break-rules', {}, { rules: parsed as { break_minutes: number; after_minutes: number }[] });
      toast('Break rules saved.'); setText(null); rules.reload(); onChanged();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  return (
    <form className="box" onSubmit={save} aria-labelledby="breaks-h">
      <h3 id="breaks-h">Break rules</h3>
      <Field label="Minutes of break after hours worked" hint="For example: 30 after 6, 45 after 9">
        <input value={shown} onChange={(e) => setText(e.target.value)} />
      </Field>
      <button className="btn">Save rules</button>
    </form>
  );
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function Pattern({ onChanged }: { onChanged: () => void }) {
  const toast = useToast();
  const people = usePeople();
  const [who, setWho] = useState('');
  const [hoursOf, setHoursOf] = useState(['8', '8', '8', '8', '8', '0', '0']);
  const [from, setFrom] = useState(isoDate(weekMonday(thisWeek())));
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await write('put', '/api/v1/users/{id}/work-pattern', { id: who }, {
        minutes: hoursOf.map((h) => Math.round(Number(h || 0) * 60)), effective_from: from });
      toast('Target hours saved.'); onChanged();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  return (
    <form className="box" onSubmit={save} aria-labelledby="pattern-h">
      <h3 id="pattern-h">Target hours</h3>
      <select value={who} onChange={(e) => setWho(e.target.value)} aria-label="Person" required>
        <option value="">Choose a person…</option>
        {people.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
      </select>
      <div className="row wrap">
        {DAYS.map((d, i) => (
          <label key={d} className="small">{d}<input type="number" min="0" max="24" step="0.25" style={{ width: '4rem' }} value={hoursOf[i]}
            onChange={(e) => setHoursOf(hoursOf.map((h, j) => (j === i ? e.target.value : h)))} /></label>
        ))}
      </div>
      <Field label="From"><input type="date" value={from} onChange={(e) => setFrom(e.target.value)} /></Field>
      <button className="btn">Save target</button>
    </form>
  );
}
