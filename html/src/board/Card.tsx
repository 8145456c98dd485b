// A card on the board. The sortable wrapper re-renders while dragging; the
// body is memoised and re-renders only when its task changes, so a board
// of hundreds of cards stays smooth.
import { memo, useEffect, useRef, useState } from 'react';
import { useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import type { Task, Person } from '../api/types';
import { shortDate, today } from '../ui/format';
import { Avatar } from '../ui/kit';

export const SortableCard = memo(function SortableCard({ task, people, onOpen }: {
  task: Task; people: Map<string, Person>; onOpen: (id: string) => void;
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

export const CardBody = memo(function CardBody({ task, people }: { task: Task; people: Map<string, Person> }) {
  // "today" is the workspace's (its time zone), as the server's overdue is
  const now = today();
  const due = task.completed_at ? null : task.due_date;
  const overdue = !!due && due < now;
  const dueToday = due === now;
  // the board's cards carry their pull requests, open ones first
  const prs = task.pull_requests ?? [];
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
      {prs.length > 0 && (
        <div className="card-prs" data-testid="card-prs">
          {prs.slice(0, 2).map((pr) => (
            <span key={pr.url} className={`status-pill pr-${pr.state || 'open'}`}
              title={`Pull request${pr.number != null ? ` #${pr.number}` : ''}: ${pr.state || 'linked'}`}>
              {pr.number != null ? `#${pr.number}` : 'PR'} {pr.state || 'linked'}
            </span>
          ))}
          {prs.length > 2 && <span className="muted small" title={`${prs.length} pull requests`}>+{prs.length - 2}</span>}
        </div>
      )}
      <div className="card-foot">
        {task.due_date
          ? <span className={overdue ? 'due overdue' : dueToday ? 'due today' : 'due'}>{overdue ? 'Overdue · ' : dueToday ? 'Today · ' : ''}{shortDate(task.due_date)}</span>
          : <span />}
        <span className="avatars">
          {task.assignee_ids.slice(0, 3).map((id) => <Avatar key={id} name={people.get(id)?.name || 'Someone'} size={20} />)}
        </span>
      </div>
    </article>
  );
});

// A long column mounts its first cards at once and the others as they come
// near the screen (600 px ahead), and keeps them. A card that is not
// mounted is a placeholder: no sortable, no droppable, so a drag on a
// board of hundreds of cards measures and re-renders only those in reach.
// It can still be reached by Tab (it mounts on focus).
const near = new Map<Element, () => void>();
let watcher: IntersectionObserver | null = null;
function watch(el: Element, onNear: () => void) {
  watcher ||= new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      near.get(e.target)?.();
    }
  }, { rootMargin: '600px 600px' });
  near.set(el, onNear);
  watcher.observe(el);
  return () => { near.delete(el); watcher?.unobserve(el); };
}

export const LAZY_EAGER = 24;

export const LazyCard = memo(function LazyCard({ task, people, onOpen, eager }: {
  task: Task; people: Map<string, Person>; onOpen: (id: string) => void; eager: boolean;
}) {
  const [mounted, setMounted] = useState(eager);
  const focused = useRef(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (mounted) {
      // reached by Tab: the card takes the placeholder's focus
      if (focused.current) {
        focused.current = false;
        document.querySelector<HTMLElement>(`.card-wrap[data-task-id="${task.id}"]`)?.focus();
      }
      return;
    }
    if (!ref.current) return;
    return watch(ref.current, () => setMounted(true));
  }, [mounted, task.id]);
  if (mounted || eager) return <SortableCard task={task} people={people} onOpen={onOpen} />;
  return (
    <div ref={ref} className="card-wrap card-placeholder" data-task-id={task.id} tabIndex={0}
      aria-label={`${task.key} ${task.title}`} onFocus={() => { focused.current = true; setMounted(true); }} />
  );
});
