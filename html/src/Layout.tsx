// The app's frame: the navigation (a drawer on a phone), the search box,
// the notifications bell with its unread count, the person's menu.
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link, NavLink, useLocation, useNavigate } from 'react-router-dom';
import { errorMessage, logout } from './api/client';
import { totalUnread, useChat } from './api/chat';
import { markAllRead, markRead, useNotifications } from './api/notifications';
import type { Notification } from './api/types';
import { canManage, useAuth } from './auth';
import { ago } from './ui/format';
import { Avatar, useToast } from './ui/kit';
import { WorkspaceSwitcher } from './WorkspaceSwitcher';

export function Layout({ children }: { children: ReactNode }) {
  const { user, workspace } = useAuth();
  const [open, setOpen] = useState(false);
  const loc = useLocation();
  const nav = useNavigate();
  const mainRef = useRef<HTMLElement>(null);

  useEffect(() => { setOpen(false); mainRef.current?.focus({ preventScroll: true }); }, [loc.pathname]);

  const search = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const q = new FormData(e.currentTarget).get('q') as string;
    if (q.trim()) nav(`/search?q=${encodeURIComponent(q.trim())}`);
  };

  return (
    <div className={open ? 'app nav-open' : 'app'}>
      <a href="#main" className="skip">Skip to content</a>
      <aside className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span className="ws-name">{workspace?.name}</span>
        </div>
        <nav>
          <NavLink to="/projects">Projects</NavLink>
          <NavLink to="/portfolio">Portfolio</NavLink>
          <ChatLink />
          <div className="nav-group">Time</div>
          <NavLink to="/time" end>Timesheet</NavLink>
          <NavLink to="/time/working">Working time</NavLink>
          {canManage(user) && <NavLink to="/time/approvals">Approvals</NavLink>}
          <NavLink to="/time/reports">Reports</NavLink>
          <div className="nav-group">Workspace</div>
          <NavLink to="/links">Share links</NavLink>
          <NavLink to="/search">Search</NavLink>
          <NavLink to="/notifications">Notifications</NavLink>
          {user?.role === 'admin' && <NavLink to="/admin">Admin</NavLink>}
        </nav>
        <div className="me">
          <Avatar name={user?.name} size={28} />
          <div className="me-text">
            <Link to="/profile" className="me-name" title="Your profile and sessions">{user?.name}</Link>
            <div className="muted small">{user?.role?.replace('_', ' ')}</div>
          </div>
          <button type="button" className="btn ghost small" onClick={() => { void logout(); }}>
            Sign out
          </button>
        </div>
      </aside>
      <div className="scrim" onClick={() => setOpen(false)} aria-hidden="true" />
      <div className="main-col">
        <header className="topbar">
          <button type="button" className="icon-btn menu-btn" aria-label="Menu"
            aria-expanded={open} onClick={() => setOpen((o) => !o)}>☰</button>
          <form className="search-box" role="search" onSubmit={search}>
            <input name="q" type="search" placeholder="Search tasks, projects, comments…"
              aria-label="Search the workspace" />
          </form>
          <WorkspaceSwitcher />
          <Bell />
        </header>
        <main id="main" ref={mainRef} tabIndex={-1}>{children}</main>
      </div>
    </div>
  );
}

// Chat, with the person's unread messages across channels
function ChatLink() {
  const { user } = useAuth();
  const n = totalUnread(useChat(user?.id));
  return (
    <NavLink to="/chat" className="nav-chat">
      Chat{n > 0 && <span className="count" aria-label={`${n} unread`}>{n > 99 ? '99+' : n}</span>}
    </NavLink>
  );
}

function Bell() {
  const { items, unread, loaded } = useNotifications();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const toast = useToast();

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => { if (!ref.current?.contains(e.target as Node)) setOpen(false); };
    const esc = (e: KeyboardEvent) => { if (e.key === 'Escape') setOpen(false); };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', esc);
    return () => { document.removeEventListener('mousedown', close); document.removeEventListener('keydown', esc); };
  }, [open]);

  return (
    <div className="bell" ref={ref} data-loaded={loaded || undefined}>
      <button type="button" className="icon-btn" aria-haspopup="true" aria-expanded={open}
        aria-label={`Notifications, ${unread} unread`} onClick={() => setOpen((o) => !o)}>
        <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"/></svg>
        {unread > 0 && <span className="badge" aria-hidden="true">{unread > 99 ? '99+' : unread}</span>}
      </button>
      {open && (
        <div className="popover" role="dialog" aria-label="Notifications">
          <div className="popover-head">
            <strong>Notifications</strong>
            {unread > 0 && (
              <button type="button" className="btn ghost small"
                onClick={() => markAllRead().catch((e) => toast(errorMessage(e), 'error'))}>Mark all read</button>
            )}
          </div>
          {!loaded ? <p className="muted pad">Loading…</p>
            : items.length === 0 ? <p className="muted pad">Nothing new. You will hear here when someone assigns or mentions you.</p>
            : (
              <ul className="notif-list">
                {items.slice(0, 10).map((n) => <NotificationItem key={n.id} n={n} onGo={() => setOpen(false)} />)}
              </ul>
            )}
          <Link to="/notifications" className="popover-foot" onClick={() => setOpen(false)}>All notifications</Link>
        </div>
      )}
    </div>
  );
}

export function notificationText(n: Notification) {
  const who = n.actor?.name || 'Someone';
  const task = n.task ? `${n.task.key} ${n.task.title}` : '';
  const { excerpt, week } = n.data;
  switch (n.kind) {
    case 'assigned': return `${who} assigned you ${task}`;
    case 'mentioned': return `${who} mentioned you ${n.data.message_id ? 'in chat' : `on ${task}`}${excerpt ? `: “${excerpt}”` : ''}`;
    case 'commented': return `${who} commented on ${task}${excerpt ? `: “${excerpt}”` : ''}`;
    case 'approved': return `${who} approved your timesheet${week ? ` for ${week}` : ''}`;
    case 'webhook_disabled': {
      const { url } = n.data;
      return `A webhook was disabled: ${url || 'its receiver'} kept failing`;
    }
    case 'health_changed': {
      const { project_name, to } = n.data;
      return `${project_name || 'A project'} is now ${(to || 'changed').replace(/_/g, ' ')}`;
    }
    case 'update_due': {
      const { project_name } = n.data;
      return `${project_name || 'A project'} has no update for ${week || 'this week'} yet`;
    }
    case 'due_soon': return `Due ${n.data.due_date || 'soon'}: ${task}`;
    case 'overdue': return `Overdue since ${n.data.due_date || 'its due date'}: ${task}`;
    case 'reminder': return `Reminder: ${task}${n.data.note ? ` (${n.data.note})` : ''}`;
    case 'rule': {
      const { rule_name, message } = n.data;
      return `${rule_name || 'A rule'}: ${message || 'ran'} ${task}`.trim();
    }
    case 'budget_alert': {
      const { project_name, threshold, measure } = n.data;
      return `${project_name || 'A project'} has used ${threshold ?? 80} % of its ${measure === 'amount' ? 'money' : 'hours'} budget`;
    }
    case 'absence_decided': {
      const { status, absence_kind, start_date, end_date, half_day, reason } = n.data;
      const days = start_date === end_date ? `${start_date}${half_day ? ', half a day' : ''}` : `${start_date} to ${end_date}`;
      return `${who} ${status || 'decided'} your absence (${absence_kind || 'absence'}, ${days})${status === 'rejected' && reason ? `: ${reason}` : ''}`;
    }
    default: {
      // a kind the document does not know yet breaks the build here
      const kind: never = n.kind;
      return `${String(kind).replace(/_/g, ' ')} ${task}`.trim();
    }
  }
}

export function NotificationItem({ n, onGo }: { n: Notification; onGo?: () => void }) {
  const nav = useNavigate();
  const toast = useToast();
  const unread = !n.read_at;
  const taskId = n.task?.id;
  const toTime = n.kind === 'approved';
  const where = taskId ? `/tasks/${taskId}` : n.data.channel_id ? `/chat/${n.data.channel_id}`
    : toTime ? '/time' : n.kind === 'absence_decided' ? '/time/working' : n.kind === 'webhook_disabled' ? '/admin/webhooks'
    : n.kind === 'budget_alert' && n.data.project_id ? `/projects/${n.data.project_id}/budget` : null;
  return (
    <li className={unread ? 'notif unread' : 'notif'} data-notification-id={n.id}>
      <button type="button" className="notif-btn" onClick={() => {
        if (unread) markRead(n.id).catch((e) => toast(errorMessage(e), 'error'));
        onGo?.();
        if (where) nav(where);
      }}>
        <span className="notif-text">{notificationText(n)}</span>
        <span className="muted small">{ago(n.created_at)}{unread && <span className="sr-only"> (unread)</span>}</span>
      </button>
      {unread && (
        <button type="button" className="btn ghost small notif-read" aria-label={`Mark read: ${notificationText(n)}`}
          onClick={() => markRead(n.id).catch((e) => toast(errorMessage(e), 'error'))}>Mark read</button>
      )}
    </li>
  );
}
