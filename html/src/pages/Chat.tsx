// The full chat view: the channel list, the open channel, its thread.
import { Navigate, useParams } from 'react-router-dom';
import { useChat } from '../api/chat';
import { useAuth } from '../auth';
import { ChannelList } from '../chat/ChannelList';
import { Room } from '../chat/Room';
import { Empty, ErrorNote, Spinner } from '../ui/kit';

export default function Chat() {
  const { id } = useParams();
  const { user } = useAuth();
  const { channels, loaded, error } = useChat(user?.id);
  const channel = channels.find((c) => c.id === id);

  if (!id && loaded && channels.length) {
    const first = channels.find((c) => c.member) || channels[0];
    return <Navigate to={`/chat/${first.id}`} replace />;
  }

  return (
    <div className="chat-page">
      <ChannelList />
      <div className="chat-stage">
        <ErrorNote error={error} />
        {!loaded ? <Spinner label="Loading channels…" />
          : channel ? <Room channel={channel} />
          : id ? <Empty title="No such channel">It may be private, or gone. Pick one from the list.</Empty>
          : <Empty title="No channels yet">Make the first one with + beside Channels.</Empty>}
      </div>
    </div>
  );
}
