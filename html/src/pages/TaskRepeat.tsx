// The task panel's Repeat control: presets and a custom rule, said in
// words as it is edited ("Every 2 weeks on Mon, Wed"), on schedule or a
// while after the previous one is done; then the series' next dates, each
// of which can be skipped or changed without touching the series.
import { useCallback, useEffect, useState } from 'react';
import { ApiError, errorMessage, read, write } from '../api/client';
import type { Schemas, Task } from '../api/types';
import { WEEKDAYS, blankRule, dayName, fromRule, summary, toRule, type Freq, type RuleForm, type Weekday } from '../api/rrule';
import { longDate } from '../ui/format';
import { useToast } from '../ui/kit';

type Recurrence = Schemas['Recurrence'];
type Occurrence = Schemas['RecurrenceOccurrence'];

const PRESETS: [string, string][] = [
  ['daily', 'Every day'],
  ['weekdays', 'Every weekday (Mon to Fri)'],
  ['weekly', 'Every week'],
  ['biweekly', 'Every 2 weeks'],
  ['monthly', 'Every month on this day'],
  ['last', 'Every month on its last day'],
  ['yearly', 'Every year'],
  ['custom', 'Custom…'],
];

function preset(name: string, start: Date): RuleForm {
  const f = blankRule(start);
  const set = (o: Partial<RuleForm>) => ({ ...f, ...o });
  switch (name) {
    case 'daily': return set({ freq: 'DAILY' });
    case 'weekdays': return set({ freq: 'WEEKLY', days: ['MO', 'TU', 'WE', 'TH', 'FR'] });
    case 'biweekly': return set({ freq: 'WEEKLY', interval: 2 });
    case 'monthly': return set({ freq: 'MONTHLY', monthly: 'day' });
    case 'last': return set({ freq: 'MONTHLY', monthly: 'last' });
    case 'yearly': return set({ freq: 'YEARLY' });
    default: return f;
  }
}

export default function TaskRepeat({ task }: { task: Task }) {
  const toast = useToast();
  const start = task.due_date ? new Date(`${task.due_date}T12:00:00`) : new Date();
  const [rec, setRec] = useState<Recurrence | null | undefined>(undefined);
  const [dates, setDates] = useState<Occurrence[]>([]);
  const [editing, setEditing] = useState(false);
  const [choice, setChoice] = useState('weekly');
  const [form, setForm] = useState<RuleForm>(() => blankRule(start));
  const [afterDone, setAfterDone] = useState(false);
  const [at, setAt] = useState('09:00');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const r = await read('/api/v1/tasks/{id}/recurrence', { id: task.id });
      setRec(r);
      const d = await read('/api/v1/tasks/{id}/recurrence/occurrences', { id: task.id }, { query: { limit: 6 } });
      setDates(d.items);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) { setRec(null); setDates([]); } else toast(errorMessage(e), 'error');
    }
  }, [task.id, toast]);

  useEffect(() => { void load(); }, [load]);

  const edit = () => {
    if (rec) {
      setForm(fromRule(rec.rule));
      setChoice('custom');
      setAfterDone(rec.mode === 'after_done');
      setAt(rec.at);
    } else {
      setForm(preset('weekly', start));
      setChoice('weekly');
    }
    setEditing(true);
  };

  const pick = (name: string) => {
    setChoice(name);
    if (name !== 'custom') setForm(preset(name, start));
  };

  const save = async () => {
    setBusy(true);
    try {
      const r = await write('put', '/api/v1/tasks/{id}/recurrence', { id: task.id },
        { rule: toRule(form), mode: afterDone ? 'after_done' : 'schedule', at });
      setRec(r);
      setEditing(false);
      toast(`Repeats: ${r.summary}.`);
      await load();
    } catch (e) { toast(errorMessage(e), 'error'); } finally { setBusy(false); }
  };

  const stop = async () => {
    if (!confirm('Stop repeating this task? The tasks already made stay.')) return;
    try {
      await write('delete', '/api/v1/tasks/{id}/recurrence', { id: task.id }, undefined);
      setRec(null);
      setDates([]);
      toast('The task no longer repeats.');
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const change = async (date: string, body: Schemas['OccurrenceChange'], said: string) => {
    try {
      await write('put', '/api/v1/tasks/{id}/recurrence/occurrences/{date}', { id: task.id, date }, body);
      toast(said);
      await load();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const up = (o: Partial<RuleForm>) => { setChoice('custom'); setForm((f) => ({ ...f, ...o })); };

  return (
    <section className="block repeat" aria-labelledby={`repeat-${task.id}`}>
      <h3 id={`repeat-${task.id}`}>Repeat</h3>
      {rec === undefined ? <p className="muted small">Loading…</p> : !editing && (
        <div className="row wrap">
          {rec ? (
            <>
              <span className="repeat-summary"><strong>{rec.summary}</strong>
                {rec.mode === 'schedule' && <span className="muted small"> at {rec.at} ({rec.time_zone})</span>}</span>
              <button type="button" className="btn small" onClick={edit}>Change</button>
              <button type="button" className="btn small danger-ghost" onClick={stop}>Stop repeating</button>
            </>
          ) : (
            <>
              <span className="muted">Does not repeat.</span>
              <button type="button" className="btn small" onClick={edit}>Repeat…</button>
            </>
          )}
        </div>
      )}

      {editing && (
        <div className="repeat-form">
          <label className="field"><span>Repeats</span>
            <select value={choice} onChange={(e) => pick(e.target.value)} aria-label="Repeat preset">
              {PRESETS.map(([k, l]) => <option key={k} value={k}>{l}</option>)}
            </select>
          </label>
          {choice === 'custom' && (
            <div className="repeat-custom">
              <div className="row wrap">
                <span>Every</span>
                <input type="number" min={1} max={999} value={form.interval} aria-label="Interval"
                  onChange={(e) => up({ interval: Math.max(1, Number(e.target.value) || 1) })} style={{ width: '5em' }} />
                <select value={form.freq} aria-label="Unit" onChange={(e) => up({ freq: e.target.value as Freq })}>
                  <option value="DAILY">day(s)</option>
                  <option value="WEEKLY">week(s)</option>
                  <option value="MONTHLY">month(s)</option>
                  <option value="YEARLY">year(s)</option>
                </select>
              </div>
              {form.freq === 'WEEKLY' && !afterDone && (
                <fieldset className="row wrap weekdays">
                  <legend className="small muted">On</legend>
                  {WEEKDAYS.map((d) => (
                    <label key={d} className="chip">
                      <input type="checkbox" checked={form.days.includes(d)}
                        onChange={(e) => up({ days: e.target.checked ? [...form.days, d] : form.days.filter((x) => x !== d) })} />
                      {dayName(d)}
                    </label>
                  ))}
                </fieldset>
              )}
              {form.freq === 'MONTHLY' && !afterDone && (
                <div className="row wrap">
                  <select value={form.monthly} aria-label="Monthly on" onChange={(e) => up({ monthly: e.target.value as RuleForm['monthly'] })}>
                    <option value="day">on day</option>
                    <option value="nth">on the</option>
                    <option value="last">on the last day</option>
                  </select>
                  {form.monthly === 'day' && (
                    <input type="number" min={1} max={31} value={form.monthDay} aria-label="Day of the month"
                      onChange={(e) => up({ monthDay: Math.min(31, Math.max(1, Number(e.target.value) || 1)) })} style={{ width: '5em' }} />
                  )}
                  {form.monthly === 'nth' && (
                    <>
                      <select value={form.nth} aria-label="Which" onChange={(e) => up({ nth: Number(e.target.value) })}>
                        {[1, 2, 3, 4, -1].map((n) => <option key={n} value={n}>{n === -1 ? 'last' : ['1st', '2nd', '3rd', '4th'][n - 1]}</option>)}
                      </select>
                      <select value={form.nthDay} aria-label="Weekday" onChange={(e) => up({ nthDay: e.target.value as Weekday })}>
                        {WEEKDAYS.map((d) => <option key={d} value={d}>{dayName(d)}</option>)}
                      </select>
                    </>
                  )}
                </div>
              )}
              <div className="row wrap">
                <select value={form.end} aria-label="Ends" onChange={(e) => up({ end: e.target.value as RuleForm['end'] })}>
                  <option value="never">never ends</option>
                  <option value="count">ends after</option>
                  <option value="until">ends on</option>
                </select>
                {form.end === 'count' && (
                  <><input type="number" min={1} max={9999} value={form.count} aria-label="Times"
                    onChange={(e) => up({ count: Math.max(1, Number(e.target.value) || 1) })} style={{ width: '6em' }} /> times</>
                )}
                {form.end === 'until' && (
                  <input type="date" value={form.until} aria-label="Last date" onChange={(e) => up({ until: e.target.value })} />
                )}
              </div>
            </div>
          )}
          <div className="row wrap">
            <label className="chip"><input type="checkbox" checked={afterDone}
              onChange={(e) => { setAfterDone(e.target.checked); if (e.target.checked) setForm((f) => ({ ...f, days: [], monthly: 'day' })); }} />
              counted from when the previous one is done</label>
            {!afterDone && (
              <label className="row">at <input type="time" value={at} aria-label="Time of day" onChange={(e) => setAt(e.target.value)} /></label>
            )}
          </div>
          <p className="repeat-preview" aria-live="polite"><strong>{summary(form, afterDone)}</strong>
            <span className="muted small"> · <code>{toRule(form)}</code></span></p>
          <div className="row">
            <button type="button" className="btn primary small" disabled={busy} onClick={save}>Save</button>
            <button type="button" className="btn small ghost" onClick={() => setEditing(false)}>Cancel</button>
          </div>
        </div>
      )}

      {rec && !editing && dates.length > 0 && (
        <ul className="occurrences">
          {dates.map((o) => <OccurrenceRow key={o.date} o={o} onChange={change} />)}
        </ul>
      )}
    </section>
  );
}

function OccurrenceRow({ o, onChange }: {
  o: Occurrence; onChange: (date: string, body: Schemas['OccurrenceChange'], said: string) => Promise<void>;
}) {
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState(o.changes.title || '');
  const when = longDate(o.date);
  return (
    <li className={`occurrence ${o.state}`}>
      <span className="occ-date">{when}</span>
      <span className="occ-state small muted">
        {o.state === 'made' ? 'made' : o.state === 'skipped' ? 'skipped' : o.state === 'planned' ? `changed${o.changes.title ? `: “${o.changes.title}”` : ''}` : 'upcoming'}
      </span>
      {o.state !== 'made' && !renaming && (
        <span className="row">
          {o.state === 'skipped' || o.state === 'planned'
            ? <button type="button" className="btn ghost small" onClick={() => onChange(o.date, { skip: false }, `${when} is back as the series has it.`)}>Restore</button>
            : <button type="button" className="btn ghost small" onClick={() => onChange(o.date, { skip: true }, `${when} skipped.`)}>Skip</button>}
          <button type="button" className="btn ghost small" onClick={() => setRenaming(true)}>Change</button>
        </span>
      )}
      {renaming && (
        <form className="row" onSubmit={(e) => { e.preventDefault(); if (title.trim()) void onChange(o.date, { title: title.trim() }, `${when} changed.`).then(() => setRenaming(false)); }}>
          <input value={title} onChange={(e) => setTitle(e.target.value)} placeholder="Title for this date only" aria-label={`Title on ${when}`} maxLength={500} />
          <button type="submit" className="btn small">Save</button>
          <button type="button" className="btn small ghost" onClick={() => setRenaming(false)}>Cancel</button>
        </form>
      )}
    </li>
  );
}
