import { StrictMode, Suspense, lazy } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { AuthProvider, useAuth } from './auth';
import { Layout } from './Layout';
import { SignIn, AcceptInvite } from './pages/SignIn';
import { ForgotPassword, ResetPassword, Unsubscribe } from './pages/PasswordReset';
import { Spinner, Toasts } from './ui/kit';
import './styles.css';

// Every screen but the shell is its own chunk, loaded when first visited.
const Landing = lazy(() => import('./pages/Landing'));
const Operators = lazy(() => import('./pages/Operators'));
const OperatorSetup = lazy(() => import('./pages/OperatorSetup'));
const Projects = lazy(() => import('./pages/Projects'));
const BoardPage = lazy(() => import('./pages/Board'));
const Timeline = lazy(() => import('./pages/Timeline'));
const Sprints = lazy(() => import('./pages/Sprints'));
const ProjectRules = lazy(() => import('./pages/ProjectRules'));
const Portfolio = lazy(() => import('./pages/Portfolio'));
const ProjectHealth = lazy(() => import('./pages/ProjectHealth'));
const Budget = lazy(() => import('./pages/Budget'));
const WorkingTime = lazy(() => import('./pages/WorkingTime'));
const PortfolioReport = lazy(() => import('./pages/PortfolioReport'));
const PortfolioTimeline = lazy(() => import('./pages/PortfolioTimeline'));
const Time = lazy(() => import('./pages/Time'));
const Approvals = lazy(() => import('./pages/Approvals'));
const Reports = lazy(() => import('./pages/Reports'));
const Links = lazy(() => import('./pages/Links'));
const Search = lazy(() => import('./pages/Search'));
const Notifications = lazy(() => import('./pages/Notifications'));
const Admin = lazy(() => import('./pages/Admin'));
const TaskPage = lazy(() => import('./pages/TaskPage'));
const Profile = lazy(() => import('./pages/Profile'));
const Chat = lazy(() => import('./pages/Chat'));

function App() {
  const { ready, user, workspace } = useAuth();
  const loc = useLocation();
  if (!ready) return <div className="center"><Spinner /></div>;
  if (!workspace) {
    // the platform host: sign-up, and the operators' console
    const page = loc.pathname === '/operators/setup' ? <OperatorSetup />
      : loc.pathname.startsWith('/operators') ? <Operators /> : <Landing />;
    return <Suspense fallback={<Spinner />}>{page}</Suspense>;
  }
  if (loc.pathname === '/accept-invite') return <AcceptInvite />;
  // reached from a message, signed in or not
  if (loc.pathname === '/reset-password') return <ResetPassword />;
  if (loc.pathname === '/unsubscribe') return <Unsubscribe />;
  if (loc.pathname === '/forgot-password' && !user) return <ForgotPassword />;
  if (!user) return <SignIn />;
  return (
    <Layout>
      <Suspense fallback={<Spinner />}>
        <Routes>
          <Route path="/" element={<Navigate to="/projects" replace />} />
          <Route path="/signin" element={<Navigate to="/projects" replace />} />
          <Route path="/projects" element={<Projects />} />
          <Route path="/projects/:id" element={<BoardPage />} />
          <Route path="/projects/:id/board" element={<BoardPage />} />
          <Route path="/projects/:id/timeline" element={<Timeline />} />
          <Route path="/projects/:id/sprints" element={<Sprints />} />
          <Route path="/projects/:id/rules" element={<ProjectRules />} />
          <Route path="/tasks/:id" element={<TaskPage />} />
          <Route path="/portfolio" element={<Portfolio />} />
          <Route path="/portfolio/report" element={<PortfolioReport />} />
          <Route path="/portfolio/timeline" element={<PortfolioTimeline />} />
          <Route path="/projects/:id/health" element={<ProjectHealth />} />
          <Route path="/projects/:id/budget" element={<Budget />} />
          <Route path="/time" element={<Time />} />
          <Route path="/time/approvals" element={<Approvals />} />
          <Route path="/time/reports" element={<Reports />} />
          <Route path="/time/working" element={<WorkingTime />} />
          <Route path="/links" element={<Links />} />
          <Route path="/search" element={<Search />} />
          <Route path="/notifications" element={<Notifications />} />
          <Route path="/chat" element={<Chat />} />
          <Route path="/chat/:id" element={<Chat />} />
          <Route path="/profile" element={<Profile />} />
          <Route path="/admin/*" element={<Admin />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}

function NotFound() {
  return (
    <div className="page">
      <h1>Nothing is here</h1>
      <p className="muted">The address does not match a page. Pick one from the menu.</p>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <Toasts>
        <AuthProvider>
          <App />
        </AuthProvider>
      </Toasts>
    </BrowserRouter>
  </StrictMode>,
);
