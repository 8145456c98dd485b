// The person's reminders of due dates: the hour of the day (in the
// workspace's time zone) when they hear of their tasks due tomorrow and
// of those overdue, or not at all. Saved as it is changed.
import { errorMessage, read, write } from '../api/client';
import { ErrorNote, Spinner, useLoad, useToast } from '../ui/kit';

const HOURS = Array.from({ length: 24 }, (_, h) => h);

export default function ReminderSettings() {
  const { data, error, loading, reload, set } = useLoad(
    (s) => read('/api/v1/me/reminder-settings', {}, { signal: s }), []);
  const toast = useToast();

  const change = async (body: { hour?: number; enabled?: boolean }) => {
    try {
      const next = await write('put', '/api/v1/me/reminder-settings', {}, body);
      set(() => next);
      toast('Saved.');
    } catch (e) {
      toast(errorMessage(e), 'error');
      reload();
    }
  };

  return (
    <section className="box reminder-settings" aria-labelledby="reminders-title">
      <h2 id="reminders-title">Reminders</h2>
      <p className="muted small">The day before a task of yours is due, and the day after it was
        if it is still open, you are reminded at this hour.</p>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner label="Loading…" /> : data && (
        <div className="row wrap">
          <label className="chip">
            <input type="checkbox" checked={data.enabled}
              onChange={(e) => change({ enabled: e.target.checked })} />
            Remind me of due dates
          </label>
          <label className="row">at
            <select value={data.hour} disabled={!data.enabled} aria-label="Reminder hour"
              onChange={(e) => change({ hour: Number(e.target.value) })}>
              {HOURS.map((h) => <option key={h} value={h}>{String(h).padStart(2, '0')}:00</option>)}
            </select>
          </label>
          <span className="muted small">({data.time_zone})</span>
        </div>
      )}
    </section>
  );
}
