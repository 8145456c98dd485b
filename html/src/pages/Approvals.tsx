// The manager's queue: submitted weeks of the people of their teams, each
// opened to its days, approved, or rejected with a reason.
import { useState } from 'react';
import { errorMessage, read, write } from '../api/client';
import type { WeekSummary } from '../api/types';
import { dayName, hours, shortDate } from '../ui/format';
import { Avatar, Empty, ErrorNote, Field, Modal, Spinner, useLoad, useToast } from '../ui/kit';

const reasonOf = (w: WeekSummary) => w.reason ?? '';

type Shown = Exclude<WeekSummary['status'], 'draft'>;
const SHOWN: Shown[] = ['submitted', 'approved', 'rejected'];

export default function Approvals() {
  const [status, setStatus] = useState<Shown>('submitted');
  const { data, error, loading, reload } = useLoad((s) =>
    read('/api/v1/timesheets/weeks', {}, { query: { status, limit: 200 }, signal: s }), [status]);
  const [open, setOpen] = useState<WeekSummary | null>(null);
  const [rejecting, setRejecting] = useState<WeekSummary | null>(null);
  const toast = useToast();

  const approve = async (w: WeekSummary) => {
    try {
      await write('post', '/api/v1/timesheets/weekly/approve', {}, { user_id: w.user.id, week: w.week });
      toast(`${w.user.name}'s ${w.week} approved.`);
      setOpen(null);
      reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  return (
    <div className="page">
      <div className="page-head"><h1>Approvals</h1></div>
      <div className="sub-tabs" role="tablist">
        {SHOWN.map((s) => (
          <button key={s} type="button" role="tab" aria-selected={status === s} className={status === s ? 'active' : ''}
            onClick={() => setStatus(s)}>{s === 'submitted' ? 'Waiting' : s[0].toUpperCase() + s.slice(1)}</button>
        ))}
      </div>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner /> : !data?.items.length ? (
        <Empty title={status === 'submitted' ? 'Nothing waits for you.' : `No ${status} weeks.`}>
          {status === 'submitted' ? 'Weeks your people submit appear here.' : ''}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="data">
            <thead><tr><th>Person</th><th>Week</th><th className="num">Hours</th><th>Submitted</th><th>{status === 'rejected' ? 'Reason' : ''}</th><th /></tr></thead>
            <tbody>
              {data.items.map((w) => (
                <tr key={`${w.user.id}/${w.week}`}>
                  <td><span className="row"><Avatar name={w.user.name} /> {w.user.name}</span></td>
                  <td>{w.week}</td>
                  <td className="num">{hours(w.total_minutes)}</td>
                  <td>{w.submitted_at ? shortDate(w.submitted_at) : '—'}</td>
                  <td className="muted">{reasonOf(w)}</td>
                  <td className="row end">
                    <button type="button" className="btn small" onClick={() => setOpen(w)}>Open</button>
                    {status === 'submitted' && <>
                      <button type="button" className="btn small ok" onClick={() => approve(w)}>Approve</button>
                      <button type="button" className="btn small danger-ghost" onClick={() => setRejecting(w)}>Reject</button>
                    </>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && <WeekDetail w={open} onClose={() => setOpen(null)} onApprove={status === 'submitted' ? () => approve(open) : undefined}
        onReject={status === 'submitted' ? () => { setRejecting(open); setOpen(null); } : undefined} />}
      {rejecting && <Reject w={rejecting} onClose={() => setRejecting(null)} onDone={() => { setRejecting(null); reload(); }} />}
    </div>
  );
}

function WeekDetail({ w, onClose, onApprove, onReject }: { w: WeekSummary; onClose: () => void; onApprove?: () => void; onReject?: () => void }) {
  const { data, error } = useLoad((s) => read('/api/v1/timesheets/weekly', {}, { query: { week: w.week, user_id: w.user.id }, signal: s }), [w.week, w.user.id]);
  return (
    <Modal title={`${w.user.name} · ${w.week}`} onClose={onClose} wide>
      <ErrorNote error={error} />
      {!data ? <Spinner /> : (
        <div className="stack">
          <div className="table-wrap">
            <table className="data">
              <thead><tr>{data.days.map((d) => <th key={d.date} className="num">{dayName(d.date)} {shortDate(d.date)}</th>)}<th className="num">Total</th></tr></thead>
              <tbody><tr>{data.days.map((d) => <td key={d.date} className="num">{hours(d.minutes)}</td>)}<td className="num"><b>{hours(data.total_minutes)}</b></td></tr></tbody>
            </table>
          </div>
          <ul className="plain-list small">
            {data.entries.map((e) => <li key={e.id}>{shortDate(e.date)} · {hours(e.minutes)} · {e.description || 'No description'}{e.billable ? ' · billable' : ''}</li>)}
          </ul>
          {(onApprove || onReject) && (
            <div className="row end">
              {onReject && <button type="button" className="btn danger-ghost" onClick={onReject}>Reject…</button>}
              {onApprove && <button type="button" className="btn ok" onClick={onApprove}>Approve</button>}
            </div>
          )}
        </div>
      )}
    </Modal>
  );
}

function Reject({ w, onClose, onDone }: { w: WeekSummary; onClose: () => void; onDone: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const toast = useToast();
  return (
    <Modal title={`Reject ${w.user.name}'s ${w.week}`} onClose={onClose}>
      <form className="stack" onSubmit={async (e) => {
        e.preventDefault();
        const reason = String(new FormData(e.currentTarget).get('reason')).trim();
        try {
          await write('post', '/api/v1/timesheets/weekly/reject', {}, { user_id: w.user.id, week: w.week, reason });
          toast(`${w.user.name}'s ${w.week} sent back.`);
          onDone();
        } catch (err) { setError(err); }
      }}>
        <ErrorNote error={error} />
        <Field label="Reason" hint={`${w.user.name} sees it on their timesheet.`}>
          <textarea name="reason" required rows={3} autoFocus placeholder="What should be corrected?" />
        </Field>
        <div className="row end">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button className="btn danger">Reject week</button>
        </div>
      </form>
    </Modal>
  );
}
