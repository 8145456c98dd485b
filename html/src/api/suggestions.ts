// Who should take a task, best first (GET /api/v1/tasks/{id}/assignee-
// suggestions): the picker lists them before everyone else, with why.
import { useEffect, useState } from 'react';
import { read, type ReadResult } from './client';

export type Suggestion = ReadResult<'/api/v1/tasks/{id}/assignee-suggestions'>['items'][number];

export function useSuggestions(taskId: string, open: boolean, version: number) {
  const [items, setItems] = useState<Suggestion[]>([]);
  useEffect(() => {
    if (!open) return;
    const c = new AbortController();
    read('/api/v1/tasks/{id}/assignee-suggestions', { id: taskId }, { signal: c.signal })
      .then((s) => setItems(s.items)).catch(() => setItems([]));
    return () => c.abort();
  }, [taskId, open, version]);
  return items;
}
