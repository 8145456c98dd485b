// A message's text as people read it: @mentions marked, a task's key a
// link showing the task's title (the server resolved them: `tasks`), the
// rest plain text (never HTML: the text is the user's).
import { Link } from 'react-router-dom';
import type { Message } from '../api/chat';

const TOKEN = /(^|[^\w.+@-])(@[\w.%+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)|\b([A-Z][A-Z0-9]{1,9}-\d{1,9})\b/g;

export function MessageBody({ m }: { m: Message }) {
  if (m.deleted) return <p className="chat-text deleted">This message was deleted.</p>;
  const text = m.body || '';
  const tasks = new Map(m.tasks.map((t) => [t.key, t]));
  const out: (string | JSX.Element)[] = [];
  let at = 0;
  for (const x of text.matchAll(TOKEN)) {
    const start = x.index ?? 0;
    if (x[2]) {
      const s = start + x[1].length;
      out.push(text.slice(at, s));
      out.push(<span key={s} className="mention">{x[2]}</span>);
      at = s + x[2].length;
    } else if (x[3] && tasks.has(x[3])) {
      const t = tasks.get(x[3])!;
      out.push(text.slice(at, start));
      out.push(
        <Link key={start} to={`/tasks/${t.id}`} className="task-ref" title={`${t.key} ${t.title}`}>
          <span className="task-ref-key">{t.key}</span> <span className="task-ref-title">{t.title}</span>
        </Link>);
      at = start + x[3].length;
    }
  }
  out.push(text.slice(at));
  return <p className="chat-text">{out}</p>;
}
