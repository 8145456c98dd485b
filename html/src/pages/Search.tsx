import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { read } from '../api/client';
import type { SearchHit as Hit } from '../api/types';
import { Empty, ErrorNote, Spinner, useLoad } from '../ui/kit';

// « and » mark the matches in plain text: made into <mark>, never HTML.
function Highlight({ text }: { text: string }) {
  return <>{text.split(/(«[^»]*»)/g).map((p, i) => p.startsWith('«') ? <mark key={i}>{p.slice(1, -1)}</mark> : p)}</>;
}

export default function Search() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') || '';
  const [text, setText] = useState(q);
  const { data, error, loading } = useLoad((s) => q ? read('/api/v1/search', {}, { query: { q }, signal: s }) : Promise.resolve(null), [q]);
  // a comment's hit names no task (SearchHit has its project only)
  const href = (h: Hit) => h.type === 'task' ? `/tasks/${h.id}`
    : h.type === 'message' ? `/chat/${h.channel_id}` : `/projects/${h.project_id}`;
  return (
    <div className="page">
      <h1>Search</h1>
      <form role="search" className="row" onSubmit={(e) => { e.preventDefault(); setParams(text.trim() ? { q: text.trim() } : {}); }}>
        <input type="search" aria-label="Search the workspace" value={text} onChange={(e) => setText(e.target.value)}
          placeholder='Words, "a phrase", -without, or' autoFocus className="grow" />
        <button className="btn primary">Search</button>
      </form>
      <div style={{ marginTop: '1rem' }}>
        <ErrorNote error={error} />
        {!q ? <p className="muted">Search tasks, projects and comments across the workspace.</p>
          : loading ? <Spinner label="Searching…" />
          : !data?.items.length ? <Empty title={`Nothing matches “${q}”.`}>Try fewer or other words.</Empty> : (
            <ul className="hits">
              {data.items.map((h) => (
                <li key={`${h.type}-${h.id}`} className="hit">
                  <div className="row"><span className="tag">{h.type}</span> <Link to={href(h)}>{h.title}</Link></div>
                  <div className="muted small"><Highlight text={h.highlight} /></div>
                </li>
              ))}
            </ul>
          )}
      </div>
    </div>
  );
}
