// The event stream, GET /api/v1/events, read with fetch so that it carries
// the Authorization header (EventSource cannot). Parses SSE, remembers the
// last id and resumes with Last-Event-ID after a drop, with backoff.
// `event: reset` means the server cannot replay from our id: reload.
import { ApiError, request } from './client';

export type StreamEvent = { id: string | null; type: string; data: any };
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
          let parsed: any = text;
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
