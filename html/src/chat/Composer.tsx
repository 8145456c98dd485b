// The box a message is written in: Enter sends, Shift+Enter is a new
// line; "@" and a few letters offer the channel's people (arrows, Enter or
// Tab to pick, Escape to close), inserting their mention handle.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { errorMessage, read } from '../api/client';
import type { Schemas } from '../api/types';
import { Avatar, useToast } from '../ui/kit';

type Member = Schemas['ChatMember'];

// the channel's members, read once a channel (who may be mentioned)
const cache = new Map<string, Promise<Member[]>>();
export function channelMembers(id: string, fresh = false) {
  if (fresh || !cache.has(id)) {
    cache.set(id, read('/api/v1/chat/channels/{id}/members', { id }).then((r) => r.items).catch(() => []));
  }
  return cache.get(id)!;
}

export function Composer({ channelId, placeholder, onSend, autoFocus }: {
  channelId: string; placeholder: string; autoFocus?: boolean;
  onSend: (body: string) => Promise<void>;
}) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [members, setMembers] = useState<Member[]>([]);
  const [query, setQuery] = useState<{ q: string; start: number } | null>(null);
  const [pick, setPick] = useState(0);
  const box = useRef<HTMLTextAreaElement>(null);
  const toast = useToast();

  useEffect(() => { void channelMembers(channelId, true).then(setMembers); }, [channelId]);

  const matches = useMemo(() => {
    if (!query) return [];
    const q = query.q.toLowerCase();
    return members.filter((m) => m.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q))
      || m.handle.toLowerCase().startsWith(q)).slice(0, 6);
  }, [query, members]);

  const track = (value: string, caret: number) => {
    const before = value.slice(0, caret);
    const m = /(^|[^\w.+@-])@([\w.+-]*)$/.exec(before);
    setQuery(m ? { q: m[2], start: caret - m[2].length - 1 } : null);
    setPick(0);
  };

  const complete = (m: Member) => {
    if (!query || !box.current) return;
    const caret = box.current.selectionStart;
    const next = `${text.slice(0, query.start)}@${m.handle} ${text.slice(caret)}`;
    setText(next);
    setQuery(null);
    const at = query.start + m.handle.length + 2;
    requestAnimationFrame(() => { box.current?.setSelectionRange(at, at); box.current?.focus(); });
  };

  const send = async () => {
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    try {
      await onSend(body);
      setText('');
    } catch (e) {
      toast(errorMessage(e), 'error');
    } finally {
      setBusy(false);
      box.current?.focus();
    }
  };

  const key = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (matches.length) {
      if (e.key === 'ArrowDown') { e.preventDefault(); setPick((p) => (p + 1) % matches.length); return; }
      if (e.key === 'ArrowUp') { e.preventDefault(); setPick((p) => (p + matches.length - 1) % matches.length); return; }
      if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); complete(matches[pick]); return; }
      if (e.key === 'Escape') { e.preventDefault(); setQuery(null); return; }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) { e.preventDefault(); void send(); }
  };

  return (
    <div className="composer">
      {matches.length > 0 && (
        <ul className="mention-menu" role="listbox" aria-label="People to mention">
          {matches.map((m, i) => (
            <li key={m.id} role="option" aria-selected={i === pick} className={i === pick ? 'on' : undefined}
              onMouseDown={(e) => { e.preventDefault(); complete(m); }}>
              <Avatar name={m.name} size={20} /> <span>{m.name}</span> <span className="muted small">@{m.handle}</span>
            </li>
          ))}
        </ul>
      )}
      <textarea ref={box} rows={1} value={text} placeholder={placeholder} aria-label={placeholder}
        autoFocus={autoFocus} maxLength={10000}
        onChange={(e) => { setText(e.target.value); track(e.target.value, e.target.selectionStart); }}
        onKeyDown={key}
        onClick={(e) => track(text, e.currentTarget.selectionStart)} />
      <button type="button" className="btn primary small" disabled={!text.trim() || busy} onClick={() => void send()}>
        Send
      </button>
    </div>
  );
}
