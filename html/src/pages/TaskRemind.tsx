// "Remind me" on a task: in an hour, tomorrow morning, or at a time of
// one's choosing; a notification (and an email, by one's preferences)
// comes then. The reminders one has waiting on the task, to cancel.
import { useCallback, useEffect, useState } from 'react';
import { errorMessage, read, write } from '../api/client';
import type { Schemas, Task } from '../api/types';
import { useToast } from '../ui/kit';

type Reminder = Schemas['TaskReminder'];

const when = (iso: string) => new Date(iso).toLocaleString(undefined,
  { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

function tomorrowAt(hour: number) {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(hour, 0, 0, 0);
  return d;
}

export default function TaskRemind({ task }: { task: Task }) {
  const toast = useToast();
  const [items, setItems] = useState<Reminder[]>([]);
  const [at, setAt] = useState('');
  const [note, setNote] = useState('');

  const load = useCallback(() => {
    read('/api/v1/tasks/{id}/reminders', { id: task.id })
      .then((r) => setItems(r.items)).catch(() => {});
  }, [task.id]);

  useEffect(load, [load]);

  const add = async (body: Schemas['TaskReminderInput']) => {
    try {
      const r = await write('post', '/api/v1/tasks/{id}/reminders', { id: task.id },
        note.trim() ? { ...body, note: note.trim() } : body);
      toast(`You will be reminded ${when(r.remind_at)}.`);
      setNote('');
      setAt('');
      load();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const cancel = async (r: Reminder) => {
    try {
      await write('delete', '/api/v1/reminders/{id}', { id: r.id }, undefined);
      load();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const waiting = items.filter((r) => !r.sent_at);

  return (
    <section className="block remind" aria-labelledby={`remind-${task.id}`}>
      <h3 id={`remind-${task.id}`}>Remind me</h3>
      <div className="row wrap">
        <button type="button" className="btn small" onClick={() => add({ in_minutes: 60 })}>In 1 hour</button>
        <button type="button" className="btn small" onClick={() => add({ at: tomorrowAt(9).toISOString() })}>Tomorrow 9:00</button>
        <input type="datetime-local" value={at} aria-label="Remind me at" onChange={(e) => setAt(e.target.value)} />
        <button type="button" className="btn small" disabled={!at}
          onClick={() => add({ at: new Date(at).toISOString() })}>Set</button>
      </div>
      <input className="remind-note" value={note} maxLength={500} placeholder="A note for the reminder (optional)"
        aria-label="Reminder note" onChange={(e) => setNote(e.target.value)} />
      {waiting.length > 0 && (
        <ul className="reminders">
          {waiting.map((r) => (
            <li key={r.id} className="row">
              <span>{when(r.remind_at)}{r.note && <span className="muted"> · {r.note}</span>}</span>
              <button type="button" className="btn ghost small" onClick={() => cancel(r)}
                aria-label={`Cancel the reminder of ${when(r.remind_at)}`}>Cancel</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
