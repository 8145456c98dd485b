// The workspace header's switcher: the person's other workspaces (their
// address verified here; none otherwise), one click away. A workspace
// that takes sign-in links gets a single-use handoff link; any other, or
// a refused handoff, opens that workspace's sign-in page.
import { useEffect, useRef, useState } from 'react';
import { read, write } from './api/client';
import { useLoad } from './ui/kit';

export function WorkspaceSwitcher() {
  const mine = useLoad((s) => read('/api/v1/me/workspaces', {}, { signal: s }), []);
  const [open, setOpen] = useState(false);
  const [going, setGoing] = useState<string | null>(null);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);

  const items = mine.data?.items ?? [];
  if (items.length === 0) return null;

  const go = async (slug: string, url: string, link: boolean) => {
    setGoing(slug);
    if (link) {
      try {
        const h = await write('post', '/api/v1/me/workspaces/{slug}/handoff', { slug }, undefined);
        window.location.assign(h.url);
        return;
      } catch {
        // refused (the policy changed, or no longer a member): sign in there
      }
    }
    window.location.assign(`${url}/signin`);
  };

  return (
    <div className="switcher" ref={ref}>
      <button type="button" className="btn ghost small" aria-haspopup="menu" aria-expanded={open}
        onClick={() => setOpen((o) => !o)}>
        Switch workspace ▾
      </button>
      {open && (
        <ul className="switcher-menu" role="menu" aria-label="Your other workspaces">
          {items.map((w) => (
            <li key={w.slug} role="none">
              <button type="button" role="menuitem" disabled={going !== null}
                onClick={() => { void go(w.slug, w.url, w.email_link); }}>
                <span className="switcher-name">{w.name}</span>
                <span className="muted small">{w.url.replace(/^https?:\/\//, '')}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
