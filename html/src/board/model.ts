// The board as cells (column × swimlane) of task ids in rank order, and
// the changes the event stream and our own moves make to it.
import type { Board, Task } from '../api/types';

export const NO_LANE = '_';
export const cellId = (columnId: string, laneId: string | null | undefined) =>
  `${columnId}|${laneId || NO_LANE}`;
export const cellColumn = (cell: string) => cell.split('|')[0];
export const cellLane = (cell: string) => { const l = cell.split('|')[1]; return l === NO_LANE ? null : l; };

export type State = { tasks: Map<string, Task>; cells: Record<string, string[]> };

export function fromBoard(b: Board, laneIds: string[]): State {
  const tasks = new Map<string, Task>();
  const cells: Record<string, string[]> = {};
  for (const c of b.columns) {
    for (const l of [NO_LANE, ...laneIds]) cells[cellId(c.id, l)] = [];
    for (const t of c.tasks) {
      tasks.set(t.id, t);
      const k = cellId(c.id, t.swimlane_id && laneIds.includes(t.swimlane_id) ? t.swimlane_id : null);
      (cells[k] ||= []).push(t.id);
    }
  }
  return { tasks, cells };
}

export function findCell(s: State, taskId: string) {
  for (const [k, ids] of Object.entries(s.cells)) if (ids.includes(taskId)) return k;
  return null;
}

// A task as the server now has it: out of wherever it was, into its
// column and lane at its rank.
export function upsert(s: State, t: Task): State {
  const tasks = new Map(s.tasks);
  tasks.set(t.id, t);
  const cells = { ...s.cells };
  const from = findCell(s, t.id);
  if (from) cells[from] = cells[from].filter((x) => x !== t.id);
  let to = cellId(t.column_id, t.swimlane_id);
  if (!cells[to]) to = cellId(t.column_id, null);
  if (!cells[to]) return { tasks, cells };       // a column we do not know: reload
  const ids = [...cells[to]];
  let i = ids.findIndex((id) => (tasks.get(id)?.rank ?? '') > t.rank);
  if (i < 0) i = ids.length;
  ids.splice(i, 0, t.id);
  cells[to] = ids;
  return { tasks, cells };
}

export function remove(s: State, id: string): State {
  const from = findCell(s, id);
  if (!from && !s.tasks.has(id)) return s;
  const tasks = new Map(s.tasks);
  tasks.delete(id);
  const cells = { ...s.cells };
  if (from) cells[from] = cells[from].filter((x) => x !== id);
  return { tasks, cells };
}

export function columnCount(s: State, columnId: string) {
  let n = 0;
  for (const [k, ids] of Object.entries(s.cells)) if (cellColumn(k) === columnId) n += ids.length;
  return n;
}
