// The board: columns with their WIP limits, swimlanes, drag and drop
// (pointer and keyboard) that moves a card at once and puts it back when
// the server refuses, filters, quick add, and the moves of everyone else
// arriving live from the event stream.
import { lazy, memo, Suspense, useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useNavigate, useParams, useSearchParams } from 'react-router-dom';
import {
  DndContext, DragOverlay, KeyboardSensor, PointerSensor, closestCorners, pointerWithin, useDroppable,
  useSensor, useSensors, type Announcements, type CollisionDetection, type DragEndEvent, type DragOverEvent,
  type DragStartEvent,
} from '@dnd-kit/core';
import { SortableContext, arrayMove, sortableKeyboardCoordinates, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { ApiError, errorMessage, read, write } from '../api/client';
import { eventId, eventTask, subscribe, type StreamState } from '../api/events';
import { peopleById, usePeople } from '../api/people';
import type { Board, Column, Person, Swimlane, Task, TaskCreate, TaskMove } from '../api/types';
import { CardBody, LAZY_EAGER, LazyCard } from '../board/Card';
import { NO_LANE, cellColumn, cellId, cellLane, columnCount, findCell, fromBoard, remove, upsert, type State } from '../board/model';
import { ProjectTabs } from './ProjectTabs';
import { ChatPanel } from '../chat/ChatPanel';
import { useChat } from '../api/chat';
import { addDays, today } from '../ui/format';
import { canManage, useAuth } from '../auth';
import { Empty, ErrorNote, Spinner, useToast } from '../ui/kit';

const TaskPanel = lazy(() => import('./TaskPanel'));
const BoardSettings = lazy(() => import('../board/Settings'));

// Which cell, then which card in it: the pointer's cell (or the closest),
// then the closest of that cell's cards only. Comparing the dragged card
// with every card of a 500-card board on each pointer move is what made
// long boards stutter.
const collide: CollisionDetection = (args) => {
  const cells = args.droppableContainers.filter((c) => String(c.id).includes('|'));
  const hit = (args.pointerCoordinates && pointerWithin({ ...args, droppableContainers: cells })[0])
    || closestCorners({ ...args, droppableContainers: cells })[0];
  if (!hit) return [];
  const cards = args.droppableContainers.filter((c) => c.data.current?.sortable?.containerId === hit.id);
  return cards.length ? closestCorners({ ...args, droppableContainers: cards }) : [hit];
};

type Filters = { assignee: string; label: string; priority: string; due: string; q: string };
const NO_FILTERS: Filters = { assignee: '', label: '', priority: '', due: '', q: '' };

export default function BoardPage() {
  const { id: projectId } = useParams();
  const [params, setParams] = useSearchParams();
  const openTask = params.get('task');
  const nav = useNavigate();
  const toast = useToast();
  const people = usePeople();
  const byId = useMemo(() => peopleById(people), [people]);

  const [board, setBoard] = useState<Board | null>(null);
  const [lanes, setLanes] = useState<Swimlane[]>([]);
  const [state, setState] = useState<State>({ tasks: new Map(), cells: {} });
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState<{ s: StreamState; detail?: string }>({ s: 'connecting' });
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [activeId, setActiveId] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const [settings, setSettings] = useState(false);
  const chatOpen = params.get('chat') === '1';
  const { user } = useAuth();
  const stateRef = useRef(state);
  stateRef.current = state;
  const before = useRef<State | null>(null);
  const dragEnded = useRef(0);

  const load = useCallback(async () => {
    try {
      const [b, sl] = await Promise.all([
        read('/api/v1/projects/{id}/kanban', { id: projectId! }),
        read('/api/v1/projects/{id}/swimlanes', { id: projectId! }).catch(() => ({ items: [] as Swimlane[], next_cursor: null })),
      ]);
      const ls = [...sl.items].sort((a, z) => a.position - z.position);
      setBoard(b);
      setLanes(ls);
      setState(fromBoard(b, ls.map((l) => l.id)));
      setError(null);
    } catch (e) { setError(e); }
  }, [projectId]);

  useEffect(() => { setBoard(null); void load(); }, [load, generation]);

  // Live: everyone's changes to this project.
  useEffect(() => {
    if (!projectId) return;
    return subscribe(
      (e) => {
        if (e.type === 'reset') { void load(); return; }
        if (e.type === 'task.created' || e.type === 'task.updated' || e.type === 'task.moved') {
          const d = eventTask(e);
          if (!d || d.project_id !== projectId) return;
          const cur = stateRef.current.tasks.get(d.id);
          if (cur && cur.version > d.version) return;          // we know newer
          setState((s) => {
            const next = upsert(s, d);
            if (!findCell(next, d.id)) void load();
            return next;
          });
        } else if (e.type === 'task.deleted') {
          const id = eventId(e);        // {id} only: gone from this board if it was here
          if (id) setState((s) => remove(s, id));
        }
      },
      (s, detail) => setLive({ s, detail }),
    );
  }, [projectId, load]);

  const columns: Column[] = useMemo(() => [...(board?.columns || [])].sort((a, z) => a.position - z.position), [board]);
  const columnsById = useMemo(() => new Map(columns.map((c) => [c.id, c])), [columns]);
  const allLabels = useMemo(() => {
    const s = new Set<string>();
    for (const t of state.tasks.values()) for (const l of t.labels) s.add(l);
    return [...s].sort();
  }, [state.tasks]);

  const visible = useMemo(() => {
    const f = filters;
    if (f === NO_FILTERS) return null;
    const now = today(), week = addDays(now, 7);
    const q = f.q.trim().toLowerCase();
    const ok = new Set<string>();
    for (const t of state.tasks.values()) {
      if (f.assignee && !(f.assignee === 'none' ? t.assignee_ids.length === 0 : t.assignee_ids.includes(f.assignee))) continue;
      if (f.label && !t.labels.includes(f.label)) continue;
      if (f.priority && t.priority !== f.priority) continue;
      if (f.due === 'overdue' && !(t.due_date && t.due_date < now && !t.completed_at)) continue;
      if (f.due === 'week' && !(t.due_date && t.due_date >= now && t.due_date <= week)) continue;
      if (f.due === 'none' && t.due_date) continue;
      if (q && !(`${t.key} ${t.title}`.toLowerCase().includes(q))) continue;
      ok.add(t.id);
    }
    return ok;
  }, [filters, state.tasks]);

  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 6 } }),
    useSensor(KeyboardSensor, {
      coordinateGetter: sortableKeyboardCoordinates,
      keyboardCodes: { start: ['Space'], cancel: ['Escape'], end: ['Space', 'Enter'] },
    }),
  );

  const cellOf = (id: string) => (state.cells[id] ? id : findCell(state, id));

  const onDragStart = (e: DragStartEvent) => {
    before.current = state;
    setActiveId(String(e.active.id));
  };

  const onDragOver = (e: DragOverEvent) => {
    const { active, over } = e;
    if (!over) return;
    const from = cellOf(String(active.id)), to = cellOf(String(over.id));
    if (!from || !to || from === to) return;
    setState((s) => {
      const src = s.cells[from].filter((x) => x !== active.id);
      const dst = [...s.cells[to]];
      const overIdx = dst.indexOf(String(over.id));
      const below = over.rect && active.rect.current.translated &&
        active.rect.current.translated.top > over.rect.top + over.rect.height / 2;
      const i = overIdx < 0 ? dst.length : overIdx + (below ? 1 : 0);
      dst.splice(i, 0, String(active.id));
      return { ...s, cells: { ...s.cells, [from]: src, [to]: dst } };
    });
  };

  const onDragEnd = async (e: DragEndEvent) => {
    setActiveId(null);
    dragEnded.current = Date.now();
    const id = String(e.active.id);
    const snapshot = before.current!;
    const { over } = e;
    if (!over) { setState(snapshot); return; }
    const cell = cellOf(id)!;
    let ids = state.cells[cell];
    const overIdx = ids.indexOf(String(over.id));
    const curIdx = ids.indexOf(id);
    if (overIdx >= 0 && overIdx !== curIdx) ids = arrayMove(ids, curIdx, overIdx);
    const next = { ...state, cells: { ...state.cells, [cell]: ids } };
    setState(next);

    const task = state.tasks.get(id)!;
    const columnId = cellColumn(cell), laneId = cellLane(cell);
    const fromCell = findCell(snapshot, id);
    if (fromCell === cell && snapshot.cells[cell].join() === ids.join()) return;   // nowhere

    // the neighbours the person sees: above, below (filters hide some)
    const seen = ids.filter((x) => x === id || !visible || visible.has(x));
    const i = seen.indexOf(id);
    const body: TaskMove = { column_id: columnId };
    if (seen[i + 1]) body.before_id = seen[i + 1];
    else if (seen[i - 1]) body.after_id = seen[i - 1];
    const column = columnsById.get(columnId)!;
    try {
      if ((task.swimlane_id || null) !== laneId) {
        const t = await write('patch', '/api/v1/tasks/{id}', { id }, { swimlane_id: laneId });
        task.version = t.version;
      }
      const moved = await write('patch', '/api/v1/tasks/{id}/move', { id }, body);
      setState((s) => {
        const tasks = new Map(s.tasks);
        tasks.set(id, { ...task, ...moved });
        return { ...s, tasks };
      });
      announce(`${task.key} moved to ${column.name}.`);
    } catch (err) {
      setState((s) => {
        // back where it was, unless the stream moved it meanwhile
        const back = findCell(snapshot, id)!;
        const cells = { ...s.cells };
        for (const k of Object.keys(cells)) cells[k] = cells[k].filter((x) => x !== id);
        cells[back] = snapshot.cells[back].filter((x) => cells[back].includes(x) || x === id);
        return { ...s, cells };
      });
      if (err instanceof ApiError && err.code === 'wip_limit_reached') {
        toast(`“${column.name}” is at its WIP limit of ${column.wip_limit}: finish or move a task out of it first, ` +
              'so that work in progress stays limited. The card went back.', 'error');
      } else if (err instanceof ApiError && err.code === 'version_conflict') {
        toast('Someone changed this task meanwhile; the board is reloaded.', 'error');
        void load();
      } else {
        toast(`The card could not be moved: ${errorMessage(err)}`, 'error');
      }
    }
  };

  const announcements: Announcements = {
    onDragStart: ({ active }) => `Picked up ${title(active.id)}. Use the arrow keys to move it, space to drop, escape to cancel.`,
    onDragOver: ({ active, over }) => over ? `${title(active.id)} is over ${where(over.id)}.` : `${title(active.id)} is no longer over a column.`,
    onDragEnd: ({ active, over }) => over ? `${title(active.id)} dropped in ${where(over.id)}.` : `${title(active.id)} dropped.`,
    onDragCancel: ({ active }) => `Moving ${title(active.id)} was cancelled.`,
  };
  function title(id: string | number) { const t = state.tasks.get(String(id)); return t ? `${t.key} ${t.title}` : 'the card'; }
  function where(id: string | number) {
    const c = cellOf(String(id));
    const col = c && columnsById.get(cellColumn(c));
    if (!c || !col) return 'a column';
    const pos = state.cells[c].indexOf(String(id));
    return `${col.name}${pos >= 0 ? `, position ${pos + 1} of ${state.cells[c].length}` : ''}`;
  }

  const created = useCallback((t: Task) => setState((s) => upsert(s, t)), []);

  const open = useCallback((id: string) => {
    // the click (or Enter) that ends a drag is not an open; one a moment
    // later is (a person, or a test, may well click the card just dropped)
    if (Date.now() - dragEnded.current < 80) return;
    setParams((p) => { p.set('task', id); return p; });
  }, [setParams]);

  if (error && !board) return <div className="page"><ErrorNote error={error} onRetry={load} /></div>;
  if (!board) return <div className="page"><Spinner label="Loading the board…" /></div>;

  const laneRows: (Swimlane | null)[] = lanes.length ? [...lanes, null] : [null];
  const active = activeId ? state.tasks.get(activeId) : null;
  const activeCol = activeId ? cellColumn(findCell(state, activeId) || '') : null;

  return (
    <div className={chatOpen ? 'page board-page with-chat' : 'page board-page'}>
      <ProjectTabs project={board.project} tab="board" extra={
        <span className="row">
          <span className={`live-pill s-${live.s}`} title={live.detail} role="status">
            {live.s === 'live' ? 'Live' : live.s === 'unavailable' ? 'Not live' : live.s === 'retrying' ? 'Reconnecting…' : 'Connecting…'}
          </span>
          <ChatToggle projectId={board.project.id} open={chatOpen} onToggle={() => setParams((p) => {
            if (chatOpen) p.delete('chat'); else p.set('chat', '1');
            return p;
          })} />
          {canManage(user) && <button type="button" className="btn small" onClick={() => setSettings(true)}>Board settings</button>}
        </span>} />
      <FilterBar filters={filters} setFilters={setFilters} people={people} labels={allLabels}
        shown={visible ? visible.size : state.tasks.size} total={state.tasks.size} />
      <ErrorNote error={error} onRetry={load} />
      {columns.length === 0 ? <Empty title="This project has no columns.">An admin adds them in the project's settings.</Empty> : (
        <DndContext sensors={sensors} collisionDetection={collide} accessibility={{ announcements }}
          onDragStart={onDragStart} onDragOver={onDragOver} onDragEnd={onDragEnd}
          onDragCancel={() => { setActiveId(null); if (before.current) setState(before.current); }}>
          <div className="board" style={{ gridTemplateColumns: `repeat(${columns.length}, minmax(14.5rem, 1fr))` }}>
            {columns.map((c) => {
              const n = columnCount(state, c.id);
              const full = c.wip_limit != null && n >= c.wip_limit;
              const over = c.wip_limit != null && n > c.wip_limit;
              const target = activeId && activeCol === c.id && full && findCell(before.current!, activeId)?.split('|')[0] !== c.id;
              return (
                <div key={c.id} className={`col-head cat-${c.category}${over || target ? ' over' : ''}`} role="heading" aria-level={2}>
                  <span className="col-name">{c.name}</span>
                  <span className="col-count" title={c.wip_limit != null ? `WIP limit ${c.wip_limit}` : 'No WIP limit'}>
                    {n}{c.wip_limit != null && <> / {c.wip_limit}</>}
                  </span>
                  {target && <span className="wip-warn">Full: the card will come back</span>}
                </div>
              );
            })}
            {laneRows.map((lane) => (
              <LaneRow key={lane?.id || NO_LANE} lane={lane} many={lanes.length > 0} columns={columns}
                state={state} visible={visible} people={byId} onOpen={open} projectId={projectId!}
                onCreated={created} />
            ))}
          </div>
          <DragOverlay dropAnimation={null}>
            {active ? <div className="card-wrap overlay"><CardBody task={active} people={byId} /></div> : null}
          </DragOverlay>
        </DndContext>
      )}
      {openTask && (
        <Suspense fallback={null}>
          <TaskPanel taskId={openTask} onClose={() => setParams((p) => { p.delete('task'); return p; })}
            onChanged={(t) => setState((s) => upsert(s, t))}
            onDeleted={(id) => setState((s) => remove(s, id))}
            onNavigate={(id) => nav(`/tasks/${id}`)} />
        </Suspense>
      )}
      {settings && (
        <Suspense fallback={null}>
          <BoardSettings projectId={projectId!} columns={columns} lanes={lanes} onClose={() => setSettings(false)} onChanged={load} />
        </Suspense>
      )}
      {chatOpen && <ChatPanel project={board.project}
        onClose={() => setParams((p) => { p.delete('chat'); return p; })} />}
      <div className="sr-only" aria-live="polite" id="board-announce" />
      <button type="button" className="sr-only" onClick={() => setGeneration((g) => g + 1)}>Reload the board</button>
    </div>
  );
}

// the project channel's unread count on the button that opens it
function ChatToggle({ projectId, open, onToggle }: { projectId: string; open: boolean; onToggle: () => void }) {
  const { user } = useAuth();
  const c = useChat(user?.id).channels.find((x) => x.project_id === projectId);
  const n = c?.member ? c.unread_count ?? 0 : 0;
  return (
    <button type="button" className={open ? 'btn small on' : 'btn small'} aria-pressed={open} onClick={onToggle}>
      Chat{n > 0 && <span className="count" aria-label={`${n} unread`}>{n}</span>}
    </button>
  );
}

function announce(text: string) {
  const el = document.getElementById('board-announce');
  if (el) el.textContent = text;
}

// A row of cells (one swimlane). It re-renders with the board's state, but
// its cells are memoised: a drag re-renders the two cells it changes, not
// the hundreds of cards in the others.
const LaneRow = memo(function LaneRow({ lane, many, columns, state, visible, people, onOpen, projectId, onCreated }: {
  lane: Swimlane | null; many: boolean; columns: Column[]; state: State; visible: Set<string> | null;
  people: Map<string, Person>; onOpen: (id: string) => void; projectId: string; onCreated: (t: Task) => void;
}) {
  return (
    <>
      {many && <div className="lane-head" style={{ gridColumn: `1 / span ${columns.length}` }}>{lane?.name || 'No swimlane'}</div>}
      {columns.map((c, i) => {
        const id = cellId(c.id, lane?.id || null);
        return (
          <Cell key={id} id={id} ids={state.cells[id] || NONE} tasks={state.tasks} visible={visible}
            people={people} onOpen={onOpen} label={`${c.name}${lane ? `, ${lane.name}` : ''}`}
            projectId={projectId} columnId={c.id} laneId={lane?.id || null}
            onCreated={i === 0 || !many ? onCreated : null} />
        );
      })}
    </>
  );
});

const NONE: string[] = [];

type CellProps = {
  id: string; ids: string[]; tasks: Map<string, Task>; visible: Set<string> | null;
  people: Map<string, Person>; onOpen: (id: string) => void; label: string;
  projectId: string; columnId: string; laneId: string | null; onCreated: ((t: Task) => void) | null;
};

// The same cell: the same ids in the same order, and each of its tasks the
// same object (the board's task map is new after any change anywhere).
function sameCell(a: CellProps, b: CellProps) {
  if (a.id !== b.id || a.ids !== b.ids || a.visible !== b.visible || a.people !== b.people
      || a.onOpen !== b.onOpen || a.label !== b.label || a.projectId !== b.projectId
      || a.columnId !== b.columnId || a.laneId !== b.laneId || a.onCreated !== b.onCreated) return false;
  return a.tasks === b.tasks || a.ids.every((x) => a.tasks.get(x) === b.tasks.get(x));
}

const Cell = memo(function Cell({ id, ids, tasks, visible, people, onOpen, label, projectId, columnId, laneId, onCreated }: CellProps) {
  const { setNodeRef, isOver } = useDroppable({ id });
  const shown = visible ? ids.filter((x) => visible.has(x)) : ids;
  return (
    <section ref={setNodeRef} className={isOver ? 'cell over' : 'cell'} aria-label={label} data-cell={id}>
      <SortableContext id={id} items={shown} strategy={verticalListSortingStrategy}>
        {shown.map((tid, i) => {
          const t = tasks.get(tid);
          return t ? <LazyCard key={tid} task={t} people={people} onOpen={onOpen} eager={i < LAZY_EAGER} /> : null;
        })}
      </SortableContext>
      {shown.length === 0 && <div className="cell-empty">{visible && ids.length ? 'Hidden by the filters' : 'Drop cards here'}</div>}
      {onCreated && <QuickAdd projectId={projectId} columnId={columnId} laneId={laneId} onCreated={onCreated} />}
    </section>
  );
}, sameCell);

function QuickAdd({ projectId, columnId, laneId, onCreated }: {
  projectId: string; columnId: string; laneId: string | null; onCreated: (t: Task) => void;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const title = String(new FormData(form).get('title')).trim();
    if (!title) return;
    setBusy(true);
    try {
      const body: TaskCreate = { title, column_id: columnId };
      if (laneId) body.swimlane_id = laneId;
      onCreated(await write('post', '/api/v1/projects/{id}/tasks', { id: projectId }, body));
      form.reset();
      setError(null);
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  if (!open) return <button type="button" className="quick-add-btn" onClick={() => setOpen(true)}>+ Add task</button>;
  return (
    <form className="quick-add" onSubmit={submit}>
      <ErrorNote error={error} />
      <input name="title" aria-label="New task title" placeholder="What needs doing?" autoFocus disabled={busy}
        onKeyDown={(e) => { if (e.key === 'Escape') setOpen(false); }} />
      <div className="row">
        <button className="btn primary small" disabled={busy}>Add</button>
        <button type="button" className="btn ghost small" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

function FilterBar({ filters, setFilters, people, labels, shown, total }: {
  filters: Filters; setFilters: (f: Filters) => void; people: Person[]; labels: string[]; shown: number; total: number;
}) {
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => {
    const f = { ...filters, [k]: e.target.value };
    setFilters(Object.values(f).every((v) => !v) ? NO_FILTERS : f);
  };
  const any = filters !== NO_FILTERS;
  return (
    <div className="filters" role="group" aria-label="Filters">
      <input type="search" placeholder="Filter cards" aria-label="Filter by text" value={filters.q} onChange={set('q')} />
      <select aria-label="Assignee" value={filters.assignee} onChange={set('assignee')}>
        <option value="">Anyone</option>
        <option value="none">Unassigned</option>
        {people.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
      </select>
      <select aria-label="Label" value={filters.label} onChange={set('label')}>
        <option value="">Any label</option>
        {labels.map((l) => <option key={l} value={l}>{l}</option>)}
      </select>
      <select aria-label="Priority" value={filters.priority} onChange={set('priority')}>
        <option value="">Any priority</option>
        {['urgent', 'high', 'medium', 'low'].map((p) => <option key={p} value={p}>{p}</option>)}
      </select>
      <select aria-label="Due" value={filters.due} onChange={set('due')}>
        <option value="">Any due date</option>
        <option value="overdue">Overdue</option>
        <option value="week">Due within 7 days</option>
        <option value="none">No due date</option>
      </select>
      {any && <button type="button" className="btn ghost small" onClick={() => setFilters(NO_FILTERS)}>Clear</button>}
      <span className="muted small filter-count">{any ? `${shown} of ${total} cards` : `${total} card${total === 1 ? '' : 's'}`}</span>
    </div>
  );
}
