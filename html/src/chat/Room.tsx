// A channel on screen: its messages (older ones on scroll to the top),
// each with its author, time, edit and delete for its author, and its
// thread's reply count; the composer; a thread open beside it. Seen, it
// counts as read (viewChannel), and new messages keep it so.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { errorMessage, write } from '../api/client';
import { channelLabel, upsertChannel, viewChannel, type Channel, type Message } from '../api/chat';
import { useAuth } from '../auth';
import { ago } from '../ui/format';
import { Avatar, ErrorNote, Spinner, useToast } from '../ui/kit';
import { Composer } from './Composer';
import { MessageBody } from './MessageBody';
import { useMessages } from './useMessages';

export function Room({ channel, compact }: { channel: Channel; compact?: boolean }) {
  const { user } = useAuth();
  const [thread, setThread] = useState<Message | null>(null);
  const toast = useToast();

  useEffect(() => viewChannel(channel.id), [channel.id]);
  useEffect(() => setThread(null), [channel.id]);

  const join = async () => {
    try {
      upsertChannel(await write('put', '/api/v1/chat/channels/{id}/members/{user_id}',
        { id: channel.id, user_id: user!.id }, undefined));
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  return (
    <div className={`chat-room${thread ? ' with-thread' : ''}${compact ? ' compact' : ''}`} data-channel-id={channel.id}>
      <section className="chat-main" aria-label={`Messages in ${channelLabel(channel, user?.id)}`}>
        <header className="chat-head">
          <h2>{channel.direct ? channelLabel(channel, user?.id) : <><span className="hash">#</span>{channel.name}</>}</h2>
          <span className="muted small">
            {channel.private && !channel.direct && <span className="tag">private</span>}{' '}
            {channel.member_count} {channel.member_count === 1 ? 'member' : 'members'}
          </span>
          {!channel.member && <button type="button" className="btn small" onClick={() => void join()}>Join</button>}
        </header>
        <Conversation channel={channel} parent={null} onThread={setThread} openThread={thread?.id} />
      </section>
      {thread && (
        <aside className="chat-thread" aria-label="Thread">
          <header className="chat-head">
            <h2>Thread</h2>
            <button type="button" className="icon-btn" aria-label="Close the thread" onClick={() => setThread(null)}>✕</button>
          </header>
          <Conversation channel={channel} parent={thread} />
        </aside>
      )}
    </div>
  );
}

function Conversation({ channel, parent, onThread, openThread }: {
  channel: Channel; parent: Message | null; onThread?: (m: Message) => void; openThread?: string;
}) {
  const { user } = useAuth();
  const { items, loaded, error, hasOlder, older, put } = useMessages(channel.id, parent?.id ?? null);
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const toast = useToast();

  // keep the newest in view while the reader is at the bottom
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [items]);

  const scrolled = () => {
    const el = list.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 60 && hasOlder) {
      const h = el.scrollHeight;
      void older().then(() => requestAnimationFrame(() => { el.scrollTop += el.scrollHeight - h; }));
    }
  };

  const send = async (body: string) => {
    stick.current = true;
    const m = await write('post', '/api/v1/chat/channels/{id}/messages', { id: channel.id },
      { body, ...(parent ? { parent_id: parent.id } : {}) });
    put(m);
  };

  return (
    <>
      <div className="chat-list" ref={list} onScroll={scrolled} role="log" aria-live="polite">
        {parent && <MessageRow m={parent} me={user?.id} root />}
        {parent && <div className="thread-sep muted small">{items.length} {items.length === 1 ? 'reply' : 'replies'}</div>}
        {!loaded && <Spinner label="Loading messages…" />}
        <ErrorNote error={error} />
        {loaded && !error && !parent && items.length === 0 && (
          <div className="chat-empty">
            <p className="empty-title">No messages yet</p>
            <p className="muted">Say hello. Type @ to mention someone, or a task's key such as {channel.project_id ? 'its key' : 'ABC-12'} to link it.</p>
          </div>
        )}
        {items.map((m, i) => (
          <MessageRow key={m.id} m={m} me={user?.id} onThread={onThread} open={openThread === m.id}
            grouped={i > 0 && sameRun(items[i - 1], m)}
            onChanged={put} onError={(e) => toast(errorMessage(e), 'error')} />
        ))}
      </div>
      {channel.member || channel.kind === 'public' ? (
        <Composer channelId={channel.id} onSend={send} autoFocus={!!parent}
          placeholder={parent ? 'Reply in the thread…' : `Message ${channelLabel(channel, user?.id)}`} />
      ) : null}
    </>
  );
}

// messages of one author within five minutes read as one run
function sameRun(a: Message, b: Message) {
  return a.author?.id === b.author?.id && !a.deleted
    && new Date(b.created_at).getTime() - new Date(a.created_at).getTime() < 5 * 60_000;
}

function MessageRow({ m, me, onThread, open, grouped, root, onChanged, onError }: {
  m: Message; me?: string; onThread?: (m: Message) => void; open?: boolean; grouped?: boolean; root?: boolean;
  onChanged?: (m: Message) => void; onError?: (e: unknown) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.body || '');
  const mine = !!me && m.author?.id === me && !m.deleted;

  const save = async () => {
    try {
      onChanged?.(await write('patch', '/api/v1/chat/messages/{id}', { id: m.id }, { body: draft.trim() }));
      setEditing(false);
    } catch (e) { onError?.(e); }
  };
  const remove = async () => {
    if (!window.confirm('Delete this message? Its replies stay.')) return;
    try {
      await write('delete', '/api/v1/chat/messages/{id}', { id: m.id }, undefined);
      onChanged?.({ ...m, deleted: true, body: null, mentions: [], tasks: [] });
    } catch (e) { onError?.(e); }
  };

  return (
    <article className={`chat-msg${grouped ? ' grouped' : ''}${open ? ' open' : ''}${root ? ' root' : ''}`}
      data-message-id={m.id}>
      <div className="chat-gutter">{!grouped && <Avatar name={m.author?.name || 'Deleted user'} size={28} />}</div>
      <div className="chat-content">
        {!grouped && (
          <div className="chat-meta">
            <strong>{m.author?.name || 'Deleted user'}</strong>
            <time className="muted small" dateTime={m.created_at} title={new Date(m.created_at).toLocaleString()}>{ago(m.created_at)}</time>
          </div>
        )}
        {editing ? (
          <div className="chat-edit">
            <textarea value={draft} onChange={(e) => setDraft(e.target.value)} aria-label="Edit the message" autoFocus
              onKeyDown={(e) => {
                if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); void save(); }
                if (e.key === 'Escape') setEditing(false);
              }} />
            <div className="row">
              <button type="button" className="btn primary small" disabled={!draft.trim()} onClick={() => void save()}>Save</button>
              <button type="button" className="btn ghost small" onClick={() => setEditing(false)}>Cancel</button>
            </div>
          </div>
        ) : (
          <>
            <MessageBody m={m} />
            {m.edited_at && !m.deleted && <span className="muted small"> (edited)</span>}
          </>
        )}
        {!root && onThread && m.reply_count > 0 && (
          <button type="button" className="thread-link" onClick={() => onThread(m)}>
            {m.reply_count} {m.reply_count === 1 ? 'reply' : 'replies'}
            {m.last_reply_at && <span className="muted small"> · last {ago(m.last_reply_at)}</span>}
          </button>
        )}
      </div>
      {!editing && !root && (
        <div className="chat-actions">
          {onThread && !m.deleted && (
            <button type="button" className="btn ghost small" onClick={() => onThread(m)} aria-label="Reply in a thread">Reply</button>
          )}
          {mine && <button type="button" className="btn ghost small" onClick={() => { setDraft(m.body || ''); setEditing(true); }}>Edit</button>}
          {mine && <button type="button" className="btn ghost small" onClick={() => void remove()}>Delete</button>}
        </div>
      )}
    </article>
  );
}
