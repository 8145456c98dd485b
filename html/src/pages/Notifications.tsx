// Every notification of the person, newest first, live (the same store as
// the bell: a new one appears at the top at once, and marking read here
// lowers the bell's count), with older pages on request.
import { useState } from 'react';
import { errorMessage } from '../api/client';
import { markAllRead, older, reload, useNotifications } from '../api/notifications';
import { NotificationItem } from '../Layout';
import { Empty, ErrorNote, Spinner, useToast } from '../ui/kit';

export default function Notifications() {
  const { items, unread, cursor, loaded, error } = useNotifications();
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  const more = async () => {
    setBusy(true);
    try { await older(); } catch (e) { toast(errorMessage(e), 'error'); } finally { setBusy(false); }
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Notifications</h1>
        <span className="muted unread-count" aria-live="polite">{loaded ? `${unread} unread` : ''}</span>
        {unread > 0 && <button type="button" className="btn" onClick={() => markAllRead().catch((e) => toast(errorMessage(e), 'error'))}>Mark all read</button>}
      </div>
      <ErrorNote error={error} onRetry={() => { void reload(); }} />
      {!loaded ? <Spinner label="Loading notifications…" /> : items.length === 0 ? (
        !error && <Empty title="No notifications.">You hear here when someone assigns you, mentions you with @ in a comment, comments on your tasks or approves your week.</Empty>
      ) : (
        <div className="box"><ul className="notif-list tall" aria-label="Notifications">{items.map((n) => <NotificationItem key={n.id} n={n} />)}</ul></div>
      )}
      {cursor && <button type="button" className="btn" onClick={more} disabled={busy} style={{ marginTop: '1rem' }}>{busy ? 'Loading…' : 'Older'}</button>}
    </div>
  );
}
