// The channels one may see, channels first then direct conversations,
// each with its unread badge; a dialog makes a channel or starts a
// conversation.
import { useState, type FormEvent } from 'react';
import { NavLink, useNavigate } from 'react-router-dom';
import { errorMessage, write } from '../api/client';
import { channelLabel, upsertChannel, useChat, type Channel } from '../api/chat';
import { usePeople } from '../api/people';
import { useAuth } from '../auth';
import { Field, Modal } from '../ui/kit';

// drawn, not typed: a font without the glyph would show a box
const Plus = () => (
  <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true"><path d="M8 3v10M3 8h10" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" /></svg>
);
const Lock = () => (
  <svg className="lock" width="11" height="11" viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M4 7V5a4 4 0 1 1 8 0v2h.5A1.5 1.5 0 0 1 14 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 2 13.5v-5A1.5 1.5 0 0 1 3.5 7H4Zm2 0h4V5a2 2 0 1 0-4 0v2Z" /></svg>
);

export function ChannelList() {
  const { user } = useAuth();
  const { channels, loaded } = useChat(user?.id);
  const [making, setMaking] = useState<'channel' | 'direct' | null>(null);
  const rooms = channels.filter((c) => !c.direct).sort((a, b) => (a.name || '').localeCompare(b.name || ''));
  const direct = channels.filter((c) => c.direct);

  return (
    <nav className="chat-channels" aria-label="Channels">
      <div className="chat-group">
        <h3>Channels</h3>
        <button type="button" className="icon-btn" aria-label="New channel" title="New channel" onClick={() => setMaking('channel')}><Plus /></button>
      </div>
      {loaded && rooms.length === 0 && <p className="muted small pad-x">No channels yet.</p>}
      {rooms.map((c) => <Item key={c.id} c={c} me={user?.id} />)}
      <div className="chat-group">
        <h3>Direct messages</h3>
        <button type="button" className="icon-btn" aria-label="New direct message" title="New direct message" onClick={() => setMaking('direct')}><Plus /></button>
      </div>
      {loaded && direct.length === 0 && <p className="muted small pad-x">Nobody yet.</p>}
      {direct.map((c) => <Item key={c.id} c={c} me={user?.id} />)}
      {making && <NewChannel direct={making === 'direct'} onClose={() => setMaking(null)} />}
    </nav>
  );
}

function Item({ c, me }: { c: Channel; me?: string | null }) {
  const unread = c.member ? c.unread_count ?? 0 : 0;
  return (
    <NavLink to={`/chat/${c.id}`} className={unread ? 'chat-item unread' : 'chat-item'} data-channel={c.name || 'direct'}>
      <span className="chat-item-name">
        {c.direct ? channelLabel(c, me) : <>{c.private ? <span className="hash" title="Private"><Lock /><span className="sr-only">private</span></span> : <span className="hash">#</span>}{c.name}</>}
      </span>
      {unread > 0 && <span className="count" aria-label={`${unread} unread`}>{unread > 99 ? '99+' : unread}</span>}
    </NavLink>
  );
}

export function NewChannel({ direct, onClose, projectId, name: suggested }: {
  direct: boolean; onClose: () => void; projectId?: string; name?: string;
}) {
  const { user } = useAuth();
  const people = usePeople().filter((p) => p.id !== user?.id);
  const [name, setName] = useState(suggested || '');
  const [priv, setPriv] = useState(false);
  const [picked, setPicked] = useState<string[]>([]);
  const [error, setError] = useState('');
  const nav = useNavigate();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      const c = await write('post', '/api/v1/chat/channels', {}, direct
        ? { direct: true, member_ids: picked }
        : { name: name.trim(), private: priv, member_ids: picked, ...(projectId ? { project_id: projectId } : {}) });
      upsertChannel(c);
      onClose();
      if (!projectId) nav(`/chat/${c.id}`);
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <Modal title={direct ? 'New direct message' : 'New channel'} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} className="stack">
        {!direct && (
          <Field label="Name" hint="1 to 80 characters, unique in the workspace">
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={80} required autoFocus />
          </Field>
        )}
        {!direct && !projectId && (
          <label className="row"><input type="checkbox" checked={priv} onChange={(e) => setPriv(e.target.checked)} />
            Private: only its members see it</label>
        )}
        <fieldset className="people-pick">
          <legend>{direct ? 'With' : 'Members'}</legend>
          {people.length === 0 && <p className="muted small">Nobody else you can see in this workspace.</p>}
          {people.map((p) => (
            <label key={p.id} className="row">
              <input type="checkbox" checked={picked.includes(p.id)}
                onChange={(e) => setPicked((l) => (e.target.checked ? [...l, p.id] : l.filter((x) => x !== p.id)))} />
              {p.name}
            </label>
          ))}
        </fieldset>
        {error && <p className="error-note" role="alert">{error}</p>}
        <div className="row end">
          <button type="button" className="btn ghost" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn primary" disabled={direct ? picked.length === 0 : !name.trim()}>
            {direct ? 'Start' : 'Create channel'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
