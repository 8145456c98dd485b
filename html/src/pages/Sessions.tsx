// The person's own sessions (sign-ins): where and when each was last used,
// this browser's marked, a "Sign out" for any other and "Sign out
// everywhere" for all of them, this one included.
import { errorMessage, logout, read, write } from '../api/client';
import type { SessionInfo } from '../api/types';
import { ago } from '../ui/format';
import { Empty, ErrorNote, Spinner, useLoad, useToast } from '../ui/kit';

export default function Sessions() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/auth/sessions', {}, { signal: s }), []);
  const toast = useToast();

  const end = async (s: SessionInfo) => {
    if (s.current) { await logout(); return; }
    try {
      await write('delete', '/api/v1/auth/sessions/{id}', { id: s.id }, undefined);
      toast('Signed out there.');
      reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const endAll = async () => {
    if (!confirm('Sign out of every browser and app, this one included?')) return;
    try {
      await write('delete', '/api/v1/auth/sessions', {}, undefined);
      await logout();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  return (
    <section className="box sessions" aria-labelledby="sessions-title">
      <div className="row between wrap">
        <h2 id="sessions-title">Sessions</h2>
        <button type="button" className="btn small danger-ghost" onClick={endAll}>Sign out everywhere</button>
      </div>
      <p className="muted small">Where you are signed in. A session ends 30 days after its sign-in at the latest.</p>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner label="Loading sessions…" /> : !data?.items.length ? (
        <Empty title="No sessions.">Signed in with an API token only.</Empty>
      ) : (
        <ul className="plain-list session-list">
          {data.items.map((s) => (
            <li key={s.id} className="row between wrap session" data-session-id={s.id}>
              <div>
                <div className="session-agent">
                  {s.user_agent || 'Unknown browser or app'}
                  {s.current && <span className="status-pill active">This browser</span>}
                </div>
                <div className="muted small">
                  {s.address ? `${s.address} · ` : ''}last used {ago(s.last_used_at)} · signed in {ago(s.created_at)}
                </div>
              </div>
              <button type="button" className="btn small" onClick={() => end(s)}
                aria-label={`Sign out ${s.current ? 'this browser' : s.user_agent || 'that session'}`}>Sign out</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
