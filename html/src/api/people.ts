// The workspace's people, loaded once and shared: names and avatars on
// cards, assignee pickers, @mentions. A contributor may only read
// themselves; then the list is just them.
import { useEffect, useState } from 'react';
import { read } from './client';
import type { Person } from './types';

let cache: Promise<Person[]> | null = null;

export function loadPeople(): Promise<Person[]> {
  if (!cache) {
    cache = read('/api/v1/users', {}, { query: { limit: 200 } })
      .then((r): Person[] => r.items)
      .catch(() => read('/api/v1/auth/me', {}).then((u): Person[] => [u]).catch(() => []));
  }
  return cache;
}

export function usePeople() {
  const [people, setPeople] = useState<Person[]>([]);
  useEffect(() => { void loadPeople().then(setPeople); }, []);
  return people;
}

export function peopleById(people: Person[]) {
  const m = new Map<string, Person>();
  for (const p of people) if (p.id) m.set(p.id, p);
  return m;
}
