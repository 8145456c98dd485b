// Who is signed in. On load, a silent refresh from the HttpOnly cookie
// restores the session; the access token never leaves memory.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { me, onSessionChange, read, refresh, type SessionUser } from './api/client';

import type { Workspace } from './api/types';
import { setTimeZone } from './ui/format';
type Auth = {
  user: SessionUser | null;
  workspace: Workspace | null;      // null on the platform host
  ready: boolean;
  setUser: (u: SessionUser | null) => void;
  // an admin's saved settings: the workspace as the server now has it
  setWorkspace: (w: Workspace) => void;
};

const Ctx = createContext<Auth>({ user: null, workspace: null, ready: false, setUser: () => {}, setWorkspace: () => {} });
export const useAuth = () => useContext(Ctx);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null>(null);
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => onSessionChange((u) => {
    if (u === null) setUser(null);
    else setUser((old) => ({ ...old, ...u }));
  }), []);

  useEffect(() => {
    (async () => {
      const h = location.hostname;
      const platform = h === 'localhost' || /^[\d.]+$|^\[/.test(h);
      try {
        if (platform) throw new Error('platform host');
        const ws = await read('/api/v1/workspace', {});
        setTimeZone(ws.time_zone);
        setWorkspace(ws);
      } catch {
        setWorkspace(null);        // the platform host: no workspace here
        setReady(true);
        return;
      }
      if (await refresh()) {
        try { setUser(await me()); } catch { /* the refresh's user stands */ }
      }
      setReady(true);
    })();
  }, []);

  const changeWorkspace = useCallback((w: Workspace) => { setTimeZone(w.time_zone); setWorkspace(w); }, []);
  return <Ctx.Provider value={{ user, workspace, ready, setUser, setWorkspace: changeWorkspace }}>{children}</Ctx.Provider>;
}

export const canManage = (u: SessionUser | null) =>
  u?.role === 'admin' || u?.role === 'project_manager';
