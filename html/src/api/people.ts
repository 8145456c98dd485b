// The workspace's people, loaded once and shared: names and avatars on
// cards, assignee pickers, @mentions. A contributor may only read
// themselves; then the list is just them.
import { useEffect, useState } from 'react';
import { get } from './client';
import type { User } from './types';

let cache: Promise<User[]> | null = null;

export function loadPeople(): Promise<User[]> {
  if (!cache) {
    cache = get<{ items: User[] }>('/api/v1/users?limit=200')
      .then((r) => r.items)
      .catch(() => get<User>('/api/v1/auth/me').then((u) => [u]).catch(() => []));
  }
  return cache;
}

export function usePeople() {
  const [people, setPeople] = useState<User[]>([]);
  useEffect(() => { void loadPeople().then(setPeople); }, []);
  return people;
}

export function peopleById(people: User[]) {
  const m = new Map<string, User>();
  for (const p of people) if (p.id) m.set(p.id, p);
  return m;
}
