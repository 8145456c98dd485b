// Chat beside the board: the project's own channel, or a button that
// makes it; a link to the full view.
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { useChat } from '../api/chat';
import type { Project } from '../api/types';
import { useAuth } from '../auth';
import { Spinner } from '../ui/kit';
import { NewChannel } from './ChannelList';
import { Room } from './Room';

export function ChatPanel({ project, onClose }: { project: Project; onClose: () => void }) {
  const { user } = useAuth();
  const { channels, loaded } = useChat(user?.id);
  const [making, setMaking] = useState(false);
  const channel = channels.find((c) => c.project_id === project.id);

  return (
    <aside className="chat-panel" aria-label="Project chat">
      <header className="chat-panel-head">
        <strong>Chat</strong>
        {channel && <Link to={`/chat/${channel.id}`} className="btn ghost small">Open full view</Link>}
        <button type="button" className="icon-btn" aria-label="Close chat" onClick={onClose}>✕</button>
      </header>
      {!loaded ? <Spinner />
        : channel ? <Room channel={channel} compact />
        : (
          <div className="chat-empty pad">
            <p className="empty-title">{project.name} has no channel yet</p>
            <p className="muted">A channel of its own keeps the talk about this board beside it.</p>
            <button type="button" className="btn primary" onClick={() => setMaking(true)}>Create #{project.key.toLowerCase()}</button>
          </div>
        )}
      {making && <NewChannel direct={false} projectId={project.id} name={project.key.toLowerCase()} onClose={() => setMaking(false)} />}
    </aside>
  );
}
