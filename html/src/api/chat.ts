// Chat, one store per tab: the channel list with the person's unread
// counts, shared by the navigation's badge, the full chat view and the
// panel beside the board. Kept live from the event stream: a message in a
// channel bumps its count (unless it is the one on screen, which is read
// at once), a read in another tab clears it, a channel made or changed
// reloads the list. A conversation's messages are the pane's own state
// (chat/useMessages.ts); this store also tells panes of each message event.
import { useEffect, useSyncExternalStore } from 'react';
import { read, write } from './client';
import { subscribe, type StreamEvent } from './events';
import type { Schemas } from './types';

export type Channel = Schemas['ChatChannel'];
export type Message = Schemas['ChatMessage'];
export type ChatPerson = Schemas['ChatPerson'];

export type ChatState = { channels: Channel[]; loaded: boolean; error: unknown };

let state: ChatState = { channels: [], loaded: false, error: null };
const watchers = new Set<() => void>();
let me: string | null = null;

function set(next: Partial<ChatState>) {
  state = { ...state, ...next };
  for (const w of watchers) w();
}

let session = 0;
export async function reloadChannels() {
  const mine = session;
  try {
    const r = await read('/api/v1/chat/channels', {});
    if (mine === session) set({ channels: r.items, loaded: true, error: null });
  } catch (error) {
    if (mine === session) set({ error, loaded: true });
  }
}

// A channel the person made or opened: in the list at once.
export function upsertChannel(c: Channel) {
  const rest = state.channels.filter((x) => x.id !== c.id);
  set({ channels: [c, ...rest] });
}

// The channels on screen: their messages count as read as they arrive.
const viewing = new Map<string, number>();
export function viewChannel(id: string) {
  viewing.set(id, (viewing.get(id) || 0) + 1);
  void markRead(id);
  return () => {
    const n = (viewing.get(id) || 1) - 1;
    if (n) viewing.set(id, n); else viewing.delete(id);
  };
}

let reading = new Map<string, number>();
export async function markRead(id: string) {
  const c = state.channels.find((x) => x.id === id);
  if (c && !c.member) return;
  setUnread(id, 0);
  // one request a channel at a time; a burst of messages makes one more
  const n = (reading.get(id) || 0) + 1;
  reading.set(id, n);
  if (n > 1) return;
  try {
    for (;;) {
      const r = await write('post', '/api/v1/chat/channels/{id}/read', { id }, undefined);
      const left = (reading.get(id) || 1) - 1;
      if (left <= 0) { reading.delete(id); setUnread(id, r.unread_count ?? 0); return; }
      reading.set(id, 1);
    }
  } catch {
    reading.delete(id);
  }
}

function setUnread(id: string, n: number) {
  if (!state.channels.some((c) => c.id === id && c.unread_count !== n)) return;
  set({ channels: state.channels.map((c) => (c.id === id ? { ...c, unread_count: n } : c)) });
}

// ---- what the stream says ---------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);

// chat.message.*: the ChatMessage schema; the fields the UI relies on.
export function eventMessage(e: StreamEvent): Message | null {
  const d = e.data;
  if (!e.type.startsWith('chat.message.') || !isObj(d)) return null;
  if (typeof d.id !== 'string' || typeof d.channel_id !== 'string' || typeof d.created_at !== 'string'
      || typeof d.deleted !== 'boolean' || !Array.isArray(d.mentions) || !Array.isArray(d.tasks)) return null;
  return d as unknown as Message;
}

type MessageListener = (type: string, m: Message) => void;
const messageListeners = new Set<MessageListener>();
export function onMessage(f: MessageListener) {
  messageListeners.add(f);
  return () => { messageListeners.delete(f); };
}

function arrived(e: StreamEvent) {
  if (e.type === 'reset') { void reloadChannels(); return; }
  if (e.type === 'chat.channel.created' || e.type === 'chat.channel.updated') { void reloadChannels(); return; }
  if (e.type === 'chat.read') {
    const d = e.data;
    if (isObj(d) && typeof d.channel_id === 'string' && typeof d.unread_count === 'number') {
      setUnread(d.channel_id, d.unread_count);
    }
    return;
  }
  const m = eventMessage(e);
  if (!m) return;
  for (const f of [...messageListeners]) f(e.type, m);
  if (e.type !== 'chat.message.created') return;
  const c = state.channels.find((x) => x.id === m.channel_id);
  if (!c) { void reloadChannels(); return; }
  const mine = m.author?.id === me;
  const bumped = {
    ...c, last_message_at: m.created_at,
    unread_count: (c.unread_count ?? 0) + (c.member && !mine && !viewing.has(c.id) ? 1 : 0),
  };
  set({ channels: [bumped, ...state.channels.filter((x) => x.id !== c.id)] });
  if (!mine && viewing.has(c.id)) void markRead(c.id);
}

let users = 0;
let stop: (() => void) | null = null;

function start() {
  if (users++ > 0) return;
  void reloadChannels();
  stop = subscribe(arrived, (s) => { if (s === 'live' && state.loaded) void reloadChannels(); });
}

function end() {
  if (--users > 0) return;
  stop?.();
  stop = null;
  session++;
  viewing.clear();
  reading = new Map();
  set({ channels: [], loaded: false, error: null });
}

export function useChat(userId?: string | null): ChatState {
  useEffect(() => { start(); return end; }, []);
  if (userId) me = userId;
  return useSyncExternalStore(
    (w) => { watchers.add(w); return () => { watchers.delete(w); }; },
    () => state,
  );
}

export const totalUnread = (s: ChatState) =>
  s.channels.reduce((n, c) => n + (c.member ? c.unread_count ?? 0 : 0), 0);

// A channel's name as people read it: #name, or the other people of a
// conversation.
export function channelLabel(c: Channel, myId?: string | null) {
  if (!c.direct) return `#${c.name}`;
  const others = (c.members || []).filter((p) => p.id !== myId).map((p) => p.name);
  return others.length ? others.join(', ') : 'Just you';
}
