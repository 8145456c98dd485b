// Time: the timer, and the week as a grid of days × projects/tasks where a
// person types hours, with the 24-hour day checked before the server does,
// and submits the week for approval.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, errorMessage, post, read, write } from '../api/client';
import type { Project, Task, Timer, Week } from '../api/types';
import { dayName, hours, shiftWeek, shortDate, thisWeek, today } from '../ui/format';
import { ErrorNote, Spinner, useToast } from '../ui/kit';

type Row = { key: string; project_id: string | null; task_id: string | null };
const rowKey = (p: string | null, t: string | null) => `${p || ''}/${t || ''}`;

export default function Time() {
  const [week, setWeek] = useState(() => thisWeek());
  const [sheet, setSheet] = useState<Week | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [projects, setProjects] = useState<Project[]>([]);
  const [tasks, setTasks] = useState<Map<string, Task[]>>(new Map());
  const [extra, setExtra] = useState<Row[]>([]);
  const [saving, setSaving] = useState(0);
  const toast = useToast();

  const load = useCallback(async () => {
    try {
      setSheet(await read('/api/v1/timesheets/weekly', {}, { query: { week } }));
      setError(null);
    } catch (e) { setError(e); }
  }, [week]);
  useEffect(() => { setSheet(null); setExtra([]); void load(); }, [load]);
  useEffect(() => { read('/api/v1/projects', {}, { query: { limit: 200 } }).then((r) => setProjects(r.items)).catch(() => {}); }, []);

  const loadTasks = useCallback(async (projectId: string) => {
    if (tasks.has(projectId)) return;
    try {
      const r = await read('/api/v1/projects/{id}/tasks', { id: projectId }, { query: { limit: 200 } });
      setTasks((m) => new Map(m).set(projectId, r.items));
    } catch { /* the project row still works */ }
  }, [tasks]);

  const entries = sheet?.entries || [];
  useEffect(() => {
    for (const p of new Set(entries.map((e) => e.project_id).filter(Boolean) as string[])) void loadTasks(p);
  }, [sheet]); // eslint-disable-line react-hooks/exhaustive-deps

  const days = useMemo(() => sheet ? sheet.days.map((d) => d.date) : [], [sheet]);
  const rows: Row[] = useMemo(() => {
    const m = new Map<string, Row>();
    for (const e of entries) m.set(rowKey(e.project_id, e.task_id), { key: rowKey(e.project_id, e.task_id), project_id: e.project_id, task_id: e.task_id });
    for (const r of extra) if (!m.has(r.key)) m.set(r.key, r);
    return [...m.values()];
  }, [entries, extra]);

  const cell = (r: Row, d: string) => entries.filter((e) => rowKey(e.project_id, e.task_id) === r.key && e.date === d);
  const dayTotal = (d: string) => entries.filter((e) => e.date === d).reduce((a, e) => a + e.minutes, 0);
  const locked = sheet?.status === 'submitted' || sheet?.status === 'approved';

  const setCell = async (r: Row, d: string, minutes: number) => {
    const list = cell(r, d);
    const current = list.reduce((a, e) => a + e.minutes, 0);
    if (minutes === current) return;
    if (dayTotal(d) - current + minutes > 1440) {
      toast(`${dayName(d)} ${shortDate(d)} would hold more than 24 hours: a day has only 24.`, 'error');
      return;
    }
    setSaving((n) => n + 1);
    try {
      if (list.length === 0) {
        await write('post', '/api/v1/timesheets/entries', {}, {
          date: d, minutes, ...(r.task_id ? { task_id: r.task_id } : { project_id: r.project_id }),
        });
      } else {
        const rest = list.slice(1).reduce((a, e) => a + e.minutes, 0);
        const first = list[0];
        if (minutes === 0) {
          for (const e of list) await write('delete', '/api/v1/timesheets/entries/{id}', { id: e.id }, undefined);
        } else if (minutes - rest > 0) {
          await write('patch', '/api/v1/timesheets/entries/{id}', { id: first.id }, { minutes: minutes - rest, version: first.version });
        } else {
          for (const e of list.slice(1)) await write('delete', '/api/v1/timesheets/entries/{id}', { id: e.id }, undefined);
          await write('patch', '/api/v1/timesheets/entries/{id}', { id: first.id }, { minutes, version: first.version });
        }
      }
    } catch (e) {
      toast(e instanceof ApiError && e.code === 'locked'
        ? 'This week is submitted or approved: it is locked.' : errorMessage(e), 'error');
    } finally {
      setSaving((n) => n - 1);
      await load();
    }
  };

  const submit = async () => {
    try {
      setSheet(await write('post', '/api/v1/timesheets/weekly/submit', {}, { week }));
      toast(`Week ${week} submitted for approval.`);
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const projectName = (id: string | null) => projects.find((p) => p.id === id)?.name || 'No project';
  const taskName = (pid: string | null, tid: string | null) => {
    const t = tasks.get(pid || '')?.find((x) => x.id === tid);
    return t ? `${t.key} ${t.title}` : tid ? 'A task' : '';
  };
  const total = entries.reduce((a, e) => a + e.minutes, 0);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Timesheet</h1>
        <div className="week-nav">
          <button type="button" className="btn small" onClick={() => setWeek((w) => shiftWeek(w, -1))} aria-label="Previous week">←</button>
          <strong aria-live="polite">{week}{sheet ? ` · ${shortDate(sheet.week_start)} – ${shortDate(sheet.week_end)}` : ''}</strong>
          <button type="button" className="btn small" onClick={() => setWeek((w) => shiftWeek(w, 1))} aria-label="Next week">→</button>
          {week !== thisWeek() && <button type="button" className="btn ghost small" onClick={() => setWeek(thisWeek())}>This week</button>}
        </div>
      </div>
      <TimerBox projects={projects} onStopped={load} />
      <ErrorNote error={error} onRetry={load} />
      {!sheet ? <Spinner /> : (
        <>
          <StatusBanner sheet={sheet} />
          <div className="table-wrap">
            <table className="data grid-sheet">
              <caption className="sr-only">Hours of {week} by project and task; type hours like 1.5 or 1:30</caption>
              <thead>
                <tr>
                  <th scope="col">Project / task</th>
                  {days.map((d) => <th key={d} scope="col" className={d === today() ? 'today' : ''}>{dayName(d)}<br /><span className="muted small">{shortDate(d)}</span></th>)}
                  <th scope="col" className="num">Total</th>
                </tr>
              </thead>
              <tbody>
                {rows.length === 0 && (
                  <tr><td colSpan={days.length + 2} className="muted">No time this week yet. Add a row below, or start the timer.</td></tr>
                )}
                {rows.map((r) => {
                  const rowTotal = days.reduce((a, d) => a + cell(r, d).reduce((x, e) => x + e.minutes, 0), 0);
                  const name = `${projectName(r.project_id)}${r.task_id ? ` · ${taskName(r.project_id, r.task_id)}` : ''}`;
                  return (
                    <tr key={r.key}>
                      <th scope="row">
                        <div>{projectName(r.project_id)}</div>
                        {r.task_id && <div className="muted small">{taskName(r.project_id, r.task_id)}</div>}
                      </th>
                      {days.map((d) => (
                        <td key={d} className={d === today() ? 'today' : ''}>
                          <HoursInput value={cell(r, d).reduce((x, e) => x + e.minutes, 0)} disabled={locked}
                            label={`${name}, ${dayName(d)} ${shortDate(d)}`} onCommit={(m) => setCell(r, d, m)} />
                        </td>
                      ))}
                      <td className="num">{hours(rowTotal)}</td>
                    </tr>
                  );
                })}
              </tbody>
              <tfoot>
                <tr>
                  <td>Day total</td>
                  {days.map((d) => <td key={d} className={dayTotal(d) > 1440 ? 'over' : ''}>{hours(dayTotal(d))}</td>)}
                  <td className="num">{hours(total)}</td>
                </tr>
              </tfoot>
            </table>
          </div>
          {!locked && <AddRow projects={projects} tasks={tasks} loadTasks={loadTasks}
            onAdd={(r) => setExtra((x) => [...x, r])} />}
          <div className="row between wrap" style={{ marginTop: '1rem' }}>
            <span className="muted small" role="status">{saving > 0 ? 'Saving…' : 'Saved as you type; a day holds at most 24 h.'}</span>
            {!locked && (
              <button type="button" className="btn primary" onClick={submit} disabled={total === 0 || saving > 0}>
                {sheet.status === 'rejected' ? 'Submit again' : 'Submit week'} ({hours(total)})
              </button>
            )}
          </div>
        </>
      )}
    </div>
  );
}

function StatusBanner({ sheet }: { sheet: Week }) {
  if (sheet.status === 'submitted') return <div className="banner info" role="status">Submitted{sheet.submitted_at ? ` ${shortDate(sheet.submitted_at)}` : ''}: waiting for your manager. The week is locked.</div>;
  if (sheet.status === 'approved') return <div className="banner ok" role="status">Approved{sheet.decided_at ? ` ${shortDate(sheet.decided_at)}` : ''}. The week is locked.</div>;
  if (sheet.status === 'rejected') return <div className="banner bad" role="alert">Rejected{sheet.reason ? `: “${sheet.reason}”` : ''}. Correct the week and submit it again.</div>;
  return null;
}

// "1.5", "1,5", "1:30", "90m" → minutes
export function parseHours(s: string): number | null {
  const t = s.trim().replace(',', '.');
  if (t === '') return 0;
  let m: RegExpMatchArray | null;
  if ((m = t.match(/^(\d+):([0-5]\d)$/))) return Number(m[1]) * 60 + Number(m[2]);
  if ((m = t.match(/^(\d+)\s*m$/))) return Number(m[1]);
  if ((m = t.match(/^(\d+(?:\.\d+)?)\s*h?$/))) return Math.round(Number(m[1]) * 60);
  return null;
}

function HoursInput({ value, disabled, label, onCommit }: { value: number; disabled?: boolean; label: string; onCommit: (m: number) => void }) {
  const show = (m: number) => (m ? String(Math.round((m / 60) * 100) / 100) : '');
  const [v, setV] = useState(show(value));
  useEffect(() => setV(show(value)), [value]);
  const parsed = parseHours(v);
  const bad = parsed === null || parsed > 1440;
  return (
    <input className={bad ? 'cell-in invalid' : 'cell-in'} inputMode="decimal" aria-label={label} value={v} disabled={disabled}
      aria-invalid={bad} placeholder="–"
      onChange={(e) => setV(e.target.value)}
      onBlur={() => { if (parsed !== null) { onCommit(parsed); setV(show(value)); } }}
      onKeyDown={(e) => { if (e.key === 'Enter') (e.target as HTMLInputElement).blur(); if (e.key === 'Escape') setV(show(value)); }} />
  );
}

function AddRow({ projects, tasks, loadTasks, onAdd }: {
  projects: Project[]; tasks: Map<string, Task[]>; loadTasks: (p: string) => void; onAdd: (r: Row) => void;
}) {
  const [p, setP] = useState('');
  const [t, setT] = useState('');
  return (
    <div className="row wrap" style={{ marginTop: '.75rem' }}>
      <select aria-label="Project of the new row" value={p} onChange={(e) => { setP(e.target.value); setT(''); if (e.target.value) loadTasks(e.target.value); }}>
        <option value="">Choose a project…</option>
        {projects.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
      </select>
      <select aria-label="Task of the new row" value={t} onChange={(e) => setT(e.target.value)} disabled={!p}>
        <option value="">The whole project</option>
        {(tasks.get(p) || []).map((x) => <option key={x.id} value={x.id}>{x.key} {x.title}</option>)}
      </select>
      <button type="button" className="btn" disabled={!p} onClick={() => { onAdd({ key: rowKey(p, t || null), project_id: p, task_id: t || null }); setP(''); setT(''); }}>Add row</button>
    </div>
  );
}

function TimerBox({ projects, onStopped }: { projects: Project[]; onStopped: () => void }) {
  const [timer, setTimer] = useState<Timer | null | undefined>(undefined);
  const [now, setNow] = useState(Date.now());
  const [project, setProject] = useState('');
  const [desc, setDesc] = useState('');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    read('/api/v1/timesheets/timer', {}).then(setTimer, (e) => setTimer(e instanceof ApiError && e.status === 404 ? null : (setError(e), null)));
  }, []);
  useEffect(() => {
    if (!timer) return;
    const i = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(i);
  }, [timer]);
  const start = async () => {
    try {
      setTimer(await write('post', '/api/v1/timesheets/timer/start', {}, { ...(project ? { project_id: project } : {}), ...(desc ? { description: desc } : {}) }));
      setError(null);
    } catch (e) { setError(e); }
  };
  const stop = async () => {
    try { await post('/api/v1/timesheets/timer/stop'); setTimer(null); setError(null); onStopped(); } catch (e) { setError(e); }
  };
  const discard = async () => {
    try { await write('delete', '/api/v1/timesheets/timer', {}, undefined); setTimer(null); } catch (e) { setError(e); }
  };
  // a break: the paused minutes are not worked, and become the entry's break
  const pause = async (on: boolean) => {
    try { setTimer(await post<Timer>(`/api/v1/timesheets/timer/${on ? 'pause' : 'resume'}`)); setError(null); } catch (e) { setError(e); }
  };
  const paused = !!timer?.paused;
  const s = !timer ? 0 : paused ? timer.elapsed_minutes * 60
    : Math.max(0, Math.floor((now - new Date(timer.started_at).getTime()) / 1000) - (timer.break_minutes ?? 0) * 60);
  const clock = `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return (
    <div className="box" style={{ marginBottom: '1rem' }}>
      <ErrorNote error={error} />
      {timer === undefined ? <Spinner /> : timer ? (
        <div className="timer">
          <span className={paused ? 'timer-clock muted' : 'timer-clock'} role="timer" aria-label={paused ? 'Timer paused' : 'Timer running'}>{clock}</span>
          <span>{projects.find((p) => p.id === timer.project_id)?.name || 'No project'}{timer.description ? ` · ${timer.description}` : ''}
            {(timer.break_minutes ?? 0) > 0 && <span className="muted small"> · {timer.break_minutes} min break</span>}</span>
          <button type="button" className="btn" onClick={() => pause(!paused)}>{paused ? 'Resume' : 'Pause'}</button>
          <button type="button" className="btn primary" onClick={stop}>Stop and log</button>
          <button type="button" className="btn ghost" onClick={discard}>Discard</button>
        </div>
      ) : (
        <div className="timer">
          <span className="timer-clock muted">0:00:00</span>
          <select aria-label="Timer project" value={project} onChange={(e) => setProject(e.target.value)}>
            <option value="">No project</option>
            {projects.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
          <input aria-label="What are you working on?" placeholder="What are you working on?" value={desc} onChange={(e) => setDesc(e.target.value)} />
          <button type="button" className="btn primary" onClick={start}>Start timer</button>
        </div>
      )}
    </div>
  );
}

