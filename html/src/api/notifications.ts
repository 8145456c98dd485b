// The person's notifications, one store per tab: the bell and the
// notifications page read the same list and the same unread count, so
// marking one read in either shows in both at once. It loads the newest
// page, keeps it live from the event stream (notification.created; a
// `reset` reloads), and pages back on request.
import { useEffect, useSyncExternalStore } from 'react';
import { read, write } from './client';
import { eventNotification, subscribe } from './events';
import type { Notification } from './types';

export type NotificationState = {
  items: Notification[];
  unread: number;
  cursor: string | null;     // the next page's, null on the last
  loaded: boolean;
  error: unknown;
};

const PAGE = 50;
let state: NotificationState = { items: [], unread: 0, cursor: null, loaded: false, error: null };
const watchers = new Set<() => void>();

function set(next: Partial<NotificationState>) {
  state = { ...state, ...next };
  for (const w of watchers) w();
}

// The newest page again, keeping older pages already shown only when they
// still follow on (a reload after a reset starts over).
let session = 0;           // bumped at sign-out: a late answer is dropped
export async function reload() {
  const mine = session;
  try {
    const r = await read('/api/v1/notifications', {}, { query: { limit: PAGE } });
    if (mine === session) set({ items: r.items, unread: r.unread_count, cursor: r.next_cursor, loaded: true, error: null });
  } catch (error) {
    if (mine === session) set({ error, loaded: true });
  }
}

export async function older() {
  if (!state.cursor) return;
  const r = await read('/api/v1/notifications', {}, { query: { limit: PAGE, cursor: state.cursor } });
  const known = new Set(state.items.map((n) => n.id));
  set({ items: [...state.items, ...r.items.filter((n) => !known.has(n.id))], cursor: r.next_cursor, unread: r.unread_count });
}

export async function markRead(id: string) {
  const n = state.items.find((x) => x.id === id);
  if (!n || n.read_at) return;
  const at = new Date().toISOString();
  set({ items: state.items.map((x) => (x.id === id ? { ...x, read_at: at } : x)), unread: Math.max(0, state.unread - 1) });
  try {
    await write('post', '/api/v1/notifications/{id}/read', { id }, undefined);
  } catch (e) {
    void reload();
    throw e;
  }
}

export async function markAllRead() {
  const at = new Date().toISOString();
  set({ items: state.items.map((x) => (x.read_at ? x : { ...x, read_at: at })), unread: 0 });
  try {
    await write('post', '/api/v1/notifications/read-all', {}, undefined);
  } finally {
    void reload();
  }
}

function arrived(n: Notification) {
  if (state.items.some((x) => x.id === n.id)) return;
  set({ items: [n, ...state.items], unread: state.unread + (n.read_at ? 0 : 1) });
}

// Live while anything shows it: the first user loads and subscribes, the
// last one to leave (the app's frame, at sign-out) stops listening and
// forgets the list, so that the next person to sign in never sees it.
let users = 0;
let stop: (() => void) | null = null;
let poll: number | undefined;

function start() {
  if (users++ > 0) return;
  void reload();
  stop = subscribe((e) => {
    if (e.type === 'reset') { void reload(); return; }
    if (e.type !== 'notification.created') return;
    const n = eventNotification(e);
    if (n) arrived(n);
  }, (s) => { if (s === 'live' && state.loaded) void reload(); });
  // a safety net for a stream that is not available on this server
  poll = window.setInterval(() => { void reload(); }, 5 * 60_000);
}

function end() {
  if (--users > 0) return;
  stop?.();
  stop = null;
  window.clearInterval(poll);
  session++;
  set({ items: [], unread: 0, cursor: null, loaded: false, error: null });
}

export function useNotifications(): NotificationState {
  useEffect(() => { start(); return end; }, []);
  return useSyncExternalStore(
    (w) => { watchers.add(w); return () => { watchers.delete(w); }; },
    () => state,
  );
}
