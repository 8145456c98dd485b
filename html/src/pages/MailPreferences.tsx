// The person's notification email: for each kind, immediately, in the
// daily digest, or never. Saved as it is changed.
import { errorMessage, read, write } from '../api/client';
import { ErrorNote, Spinner, useLoad, useToast } from '../ui/kit';

const KINDS: [string, string][] = [
  ['assigned', 'A task is assigned to me'],
  ['mentioned', 'Someone mentions me'],
  ['commented', 'A comment on my tasks'],
  ['approved', 'My timesheet is approved'],
  ['absence_decided', 'My absence is approved or rejected'],
  ['health_changed', "A project's health changes"],
  ['update_due', 'A project update is due'],
  ['due_soon', 'A task of mine is due soon'],
  ['overdue', 'A task of mine is overdue'],
  ['reminder', 'A reminder I set'],
  ['rule', "A project's rule notifies me"],
  ['budget_alert', "A project's budget reaches 80 % or 100 %"],
  ['webhook_disabled', 'A webhook is disabled (admins)'],
];

const MODES: [string, string][] = [
  ['immediate', 'Right away'],
  ['digest', 'Daily digest'],
  ['never', 'Never'],
];

type Mode = 'immediate' | 'digest' | 'never';

export default function MailPreferences() {
  const { data, error, loading, reload, set } = useLoad(
    (s) => read('/api/v1/me/mail-preferences', {}, { signal: s }), []);
  const toast = useToast();

  // shown at once, then saved; a refusal puts back what is stored
  const change = async (kind: string, mode: string) => {
    set((d) => ({ kinds: { ...(d?.kinds || {}), [kind]: mode as Mode } }));
    try {
      const next = await write('put', '/api/v1/me/mail-preferences', {},
        { kinds: { [kind]: mode as Mode } });
      set(() => next);
      toast('Saved.');
    } catch (e) {
      toast(errorMessage(e), 'error');
      reload();
    }
  };

  return (
    <section className="box mail-preferences" aria-labelledby="mail-title">
      <h2 id="mail-title">Email</h2>
      <p className="muted small">Which notifications reach you by email, and when. The digest
        is one message a day with everything since the last.</p>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner label="Loading…" /> : data && (
        <table className="mail-table">
          <thead><tr><th scope="col">When</th>{MODES.map(([m, label]) => <th key={m} scope="col">{label}</th>)}</tr></thead>
          <tbody>
            {KINDS.map(([kind, label]) => (
              <tr key={kind}>
                <th scope="row">{label}</th>
                {MODES.map(([mode, mlabel]) => (
                  <td key={mode}>
                    <input type="radio" name={`mail-${kind}`} value={mode}
                      aria-label={`${label}: ${mlabel}`}
                      checked={(data.kinds[kind] || 'immediate') === mode}
                      onChange={() => change(kind, mode)} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
