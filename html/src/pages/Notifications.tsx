import { useState } from 'react';
import { post, read } from '../api/client';
import type { Notification } from '../api/types';
import { NotificationItem } from '../Layout';
import { Empty, ErrorNote, Spinner, useLoad } from '../ui/kit';

export default function Notifications() {
  const [pages, setPages] = useState<Notification[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useLoad((s) => read('/api/v1/notifications', {}, { query: { limit: 50 }, signal: s })
    .then((r) => { setPages([]); setCursor(r.next_cursor); return r; }), []);
  const more = async () => {
    const r = await read('/api/v1/notifications', {}, { query: { limit: 50, cursor: cursor! } });
    setPages((p) => [...p, ...r.items]);
    setCursor(r.next_cursor);
  };
  const items = [...(first.data?.items || []), ...pages];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Notifications</h1>
        {!!first.data?.unread_count && <button type="button" className="btn" onClick={() => post('/api/v1/notifications/read-all').then(first.reload)}>Mark all read</button>}
      </div>
      <ErrorNote error={first.error} onRetry={first.reload} />
      {first.loading && !first.data ? <Spinner /> : items.length === 0 ? (
        <Empty title="No notifications.">You hear here when someone assigns you, mentions you, comments on your tasks or approves your week.</Empty>
      ) : (
        <div className="box"><ul className="notif-list tall">{items.map((n) => <NotificationItem key={n.id} n={n} onRead={first.reload} />)}</ul></div>
      )}
      {cursor && <button type="button" className="btn" onClick={more} style={{ marginTop: '1rem' }}>Older</button>}
    </div>
  );
}
