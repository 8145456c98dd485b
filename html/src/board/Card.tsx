// A card on the board. The sortable wrapper re-renders while dragging; the
// body is memoised and re-renders only when its task changes, so a board
// of hundreds of cards stays smooth.
import { memo } from 'react';
import { useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import type { Task, User } from '../api/types';
import { shortDate, today } from '../ui/format';
import { Avatar } from '../ui/kit';

export const SortableCard = memo(function SortableCard({ task, people, onOpen }: {
  task: Task; people: Map<string, User>; onOpen: (id: string) => void;
}) {
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } =
    useSortable({ id: task.id, data: { type: 'card' } });
  return (
    <div ref={setNodeRef}
      className={isDragging ? 'card-wrap dragging' : 'card-wrap'}
      style={{ transform: CSS.Translate.toString(transform), transition }}
      {...attributes} {...listeners}
      aria-roledescription="draggable card"
      aria-label={`${task.key} ${task.title}`}
      data-task-id={task.id}
      onKeyDown={(e) => {
        listeners?.onKeyDown?.(e);
        if (e.key === 'Enter' && !e.defaultPrevented) onOpen(task.id);
      }}
      onClick={() => onOpen(task.id)}>
      <CardBody task={task} people={people} />
    </div>
  );
});

export const CardBody = memo(function CardBody({ task, people }: { task: Task; people: Map<string, User> }) {
  const overdue = task.due_date && !task.completed_at && task.due_date < today();
  return (
    <article className={`card prio-${task.priority}${task.blocked ? ' blocked' : ''}`}>
      <div className="card-top">
        <span className="key">{task.key}</span>
        {task.priority !== 'medium' && <span className={`prio ${task.priority}`}>{task.priority}</span>}
      </div>
      <div className="card-title">{task.title}</div>
      {(task.labels.length > 0 || task.blocked) && (
        <div className="tags">
          {task.blocked && <span className="tag danger" title={task.blocked_reason || undefined}>Blocked</span>}
          {task.labels.map((l) => <span key={l} className="tag">{l}</span>)}
        </div>
      )}
      <div className="card-foot">
        {task.due_date
          ? <span className={overdue ? 'due overdue' : 'due'}>{overdue ? 'Overdue · ' : ''}{shortDate(task.due_date)}</span>
          : <span />}
        <span className="avatars">
          {task.assignee_ids.slice(0, 3).map((id) => <Avatar key={id} name={people.get(id)?.name || 'Someone'} size={20} />)}
        </span>
      </div>
    </article>
  );
});
