// The event stream, GET /api/v1/events, read with fetch so that it carries
// the Authorization header (EventSource cannot). Parses SSE, remembers the
// last id and resumes with Last-Event-ID after a drop, with backoff.
// `event: reset` means the server cannot replay from our id: reload.
import { ApiError, request } from './client';
import type { Insight, Notification, Schemas, Task } from './types';

// `data` is JSON whose shape depends on the type: the document's
// StreamEvent (which the tests hold every event they read to). What comes
// over the wire is still checked here, at run time, before the UI uses it:
// a server older or newer than this page may send another shape.
export type StreamEvent = { id: string | null; type: string; data: unknown };

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const str = (o: Obj, k: string) => typeof o[k] === 'string';

// task.created, task.updated, task.moved: the task as the write answered
// (the Task schema).
function isTask(x: unknown): x is Task {
  return isObj(x) && str(x, 'id') && str(x, 'project_id') && str(x, 'column_id')
    && str(x, 'rank') && str(x, 'key') && str(x, 'title') && typeof x.version === 'number'
    && Array.isArray(x.assignee_ids) && Array.isArray(x.labels);
}
export const eventTask = (e: StreamEvent): Task | null => (isTask(e.data) ? e.data : null);

// task.deleted and the like: `{id}` of what is gone.
export const eventId = (e: StreamEvent): string | null =>
  (isObj(e.data) && typeof e.data.id === 'string' ? e.data.id : null);

// comment.created: the comment's row as stored (the document's
// EventComment, not its Comment: no author_name); the fields the UI reads.
export type EventComment = Pick<Schemas['EventComment'], 'id' | 'task_id' | 'author_id' | 'body' | 'created_at'>;
export function eventComment(e: StreamEvent): EventComment | null {
  const d = e.data;
  if (!isObj(d) || !str(d, 'id') || !str(d, 'task_id') || !str(d, 'body') || !str(d, 'created_at')) return null;
  return {
    id: String(d.id), task_id: String(d.task_id), body: String(d.body), created_at: String(d.created_at),
    author_id: typeof d.author_id === 'string' ? d.author_id : null,
  };
}

// notification.created: the Notification schema.
function isNotification(x: unknown): x is Notification {
  return isObj(x) && str(x, 'id') && str(x, 'kind') && str(x, 'created_at');
}
export const eventNotification = (e: StreamEvent): Notification | null =>
  (isNotification(e.data) ? e.data : null);

// insight.generated: the Insight schema, completed.
function isInsight(x: unknown): x is Insight {
  return isObj(x) && str(x, 'id') && str(x, 'kind') && x.status === 'completed'
    && (x.project_id === null || str(x, 'project_id')) && isObj(x.result);
}
export const eventInsight = (e: StreamEvent): Insight | null =>
  (e.type === 'insight.generated' && isInsight(e.data) ? e.data : null);

export type StreamState = 'connecting' | 'live' | 'retrying' | 'unavailable';

export type StreamOptions = {
  projectId?: string;
  onEvent: (e: StreamEvent) => void;
  onState?: (s: StreamState, detail?: string) => void;
};

export function openStream(o: StreamOptions): () => void {
  const ctrl = new AbortController();
  let lastId: string | null = null;
  let attempt = 0;
  let stopped = false;

  const run = async () => {
    while (!stopped) {
      o.onState?.(attempt ? 'retrying' : 'connecting');
      try {
        const path = '/api/v1/events' +
          (o.projectId ? `?project_id=${encodeURIComponent(o.projectId)}` : '');
        const headers: Record<string, string> = { 'Cache-Control': 'no-cache' };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const r = await request('GET', path,
          { accept: 'text/event-stream', headers, signal: ctrl.signal });
        if (!r.body) throw new Error('no body');
        o.onState?.('live');
        attempt = 0;
        await read(r.body, (e) => {
          if (e.id) lastId = e.id;
          o.onEvent(e);
        });
      } catch (e) {
        if (stopped) return;
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
          o.onState?.('unavailable', 'Live updates are not available on this server.');
          return;
        }
        if (e instanceof ApiError && e.status === 401) {
          o.onState?.('unavailable', 'Signed out.');
          return;
        }
      }
      if (stopped) return;
      attempt++;
      o.onState?.('retrying');
      const wait = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)) * (0.75 + Math.random() / 2);
      await new Promise((res) => setTimeout(res, wait));
    }
  };
  void run();
  return () => { stopped = true; ctrl.abort(); };
}

async function read(body: ReadableStream<Uint8Array>, emit: (e: StreamEvent) => void) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let id: string | null = null;
  let type = 'message';
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (data.length) {
          const text = data.join('\n');
          let parsed: unknown = text;
          try { parsed = JSON.parse(text); } catch { /* plain text */ }
          emit({ id, type, data: parsed });
        } else if (type === 'reset') {
          emit({ id, type, data: null });
        }
        type = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let v = colon < 0 ? '' : line.slice(colon + 1);
      if (v.startsWith(' ')) v = v.slice(1);
      if (field === 'data') data.push(v);
      else if (field === 'event') type = v;
      else if (field === 'id') id = v;
    }
  }
}

// One stream per tab, shared: the board, the open task's comments and the
// bell all listen to the same connection (each would otherwise hold one of
// the browser's few connections to the host, and count against the rate
// limit when it opens). Every event of the workspace comes; each listener
// keeps what concerns it. The stream closes a moment after the last
// listener leaves (a route change does not reconnect).
type Listener = { onEvent: (e: StreamEvent) => void; onState?: (s: StreamState, detail?: string) => void };
const listeners = new Set<Listener>();
let close: (() => void) | null = null;
let closing: number | undefined;
let current: { s: StreamState; detail?: string } = { s: 'connecting' };

export function subscribe(onEvent: Listener['onEvent'], onState?: Listener['onState']): () => void {
  const l: Listener = { onEvent, onState };
  listeners.add(l);
  window.clearTimeout(closing);
  onState?.(current.s, current.detail);
  if (!close) {
    close = openStream({
      onEvent: (e) => {
        for (const x of [...listeners]) {
          // one listener's mistake is reported, and the others still hear
          try { x.onEvent(e); } catch (err) { setTimeout(() => { throw err; }); }
        }
      },
      onState: (s, detail) => {
        current = { s, detail };
        for (const x of [...listeners]) x.onState?.(s, detail);
      },
    });
  }
  return () => {
    listeners.delete(l);
    if (listeners.size) return;
    closing = window.setTimeout(() => {
      if (listeners.size || !close) return;
      close();
      close = null;
      current = { s: 'connecting' };
    }, 2000);
  };
}
