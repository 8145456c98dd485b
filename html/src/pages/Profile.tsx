// The person's own settings: who they are in this workspace, their
// notification email (pages/MailPreferences.tsx), their reminders of due
// dates (pages/ReminderSettings.tsx), their calendar feeds
// (pages/CalendarFeeds.tsx), their two-factor
// sign-in (pages/TwoFactor.tsx) and their sessions (pages/Sessions.tsx).
import { useAuth } from '../auth';
import CalendarFeeds from './CalendarFeeds';
import MailPreferences from './MailPreferences';
import ReminderSettings from './ReminderSettings';
import Sessions from './Sessions';
import TwoFactor from './TwoFactor';

export default function Profile() {
  const { user } = useAuth();
  return (
    <div className="page profile">
      <div className="page-head"><h1>Your profile</h1></div>
      <section className="box">
        <div className="profile-name">{user?.name}</div>
        <div className="muted">{user?.email} · {user?.role?.replace('_', ' ')}</div>
      </section>
      <MailPreferences />
      <ReminderSettings />
      <CalendarFeeds />
      <TwoFactor />
      <Sessions />
    </div>
  );
}
