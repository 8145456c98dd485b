// One conversation's messages (a channel's, or one thread's replies),
// oldest first on screen: the newest page, older pages on request (the
// API's cursor), and every chat.message.* event of this conversation as it
// arrives. A reply bumps its thread start's count in the channel's list.
import { useCallback, useEffect, useState } from 'react';
import { read } from '../api/client';
import { onMessage, type Message } from '../api/chat';

const PAGE = 50;

export function useMessages(channelId: string, parentId: string | null = null) {
  const [items, setItems] = useState<Message[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const c = new AbortController();
    setItems([]); setLoaded(false); setError(null); setCursor(null);
    read('/api/v1/chat/channels/{id}/messages', { id: channelId },
      { query: { limit: PAGE, ...(parentId ? { parent_id: parentId } : {}) }, signal: c.signal })
      .then((r) => { setItems([...r.items].reverse()); setCursor(r.next_cursor ?? null); setLoaded(true); },
        (e) => { if (!c.signal.aborted) { setError(e); setLoaded(true); } });
    return () => c.abort();
  }, [channelId, parentId]);

  useEffect(() => onMessage((type, m) => {
    if (m.channel_id !== channelId) return;
    if ((m.parent_id ?? null) === parentId) {
      setItems((list) => {
        const i = list.findIndex((x) => x.id === m.id);
        if (i >= 0) { const next = [...list]; next[i] = m; return next; }
        return type === 'chat.message.created' ? [...list, m] : list;
      });
    } else if (!parentId && m.parent_id && type === 'chat.message.created') {
      setItems((list) => list.map((x) => (x.id === m.parent_id
        ? { ...x, reply_count: x.reply_count + 1, last_reply_at: m.created_at } : x)));
    }
  }), [channelId, parentId]);

  const older = useCallback(async () => {
    if (!cursor) return;
    const r = await read('/api/v1/chat/channels/{id}/messages', { id: channelId },
      { query: { limit: PAGE, cursor, ...(parentId ? { parent_id: parentId } : {}) } });
    setItems((list) => {
      const known = new Set(list.map((x) => x.id));
      return [...[...r.items].reverse().filter((x) => !known.has(x.id)), ...list];
    });
    setCursor(r.next_cursor ?? null);
  }, [channelId, parentId, cursor]);

  // what this tab wrote shows at once, before its event comes back
  const put = useCallback((m: Message) => setItems((list) => {
    const i = list.findIndex((x) => x.id === m.id);
    if (i >= 0) { const next = [...list]; next[i] = m; return next; }
    return [...list, m];
  }), []);

  return { items, loaded, error, hasOlder: !!cursor, older, put };
}
