import { useNavigate, useParams } from 'react-router-dom';
import TaskPanel from './TaskPanel';

export default function TaskPage() {
  const { id } = useParams();
  const nav = useNavigate();
  return (
    <div className="page">
      <TaskPanel key={id} taskId={id!} asPage onClose={() => nav(-1)}
        onDeleted={() => nav('/projects')} onNavigate={(t) => nav(`/tasks/${t}`)} />
    </div>
  );
}
