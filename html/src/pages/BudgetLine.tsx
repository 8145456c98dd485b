// A project's budget in one line, where the project is shown (its header,
// the portfolio's table and report): hours and money spent of the budget
// and what is left, overspent in red. The figures come with the project
// for its managers and admins; others get no budget and see nothing.
import type { BudgetFigures } from '../api/types';
import { hoursDecimal, money } from '../ui/format';

export function BudgetLine({ b }: { b: BudgetFigures }) {
  const parts = [];
  if (b.hours !== null) {
    parts.push(
      <span key="h">
        {hoursDecimal(b.spent_minutes)} of {b.hours} h,{' '}
        <span className={b.remaining_minutes! < 0 ? 'danger-text' : ''}>{hoursDecimal(b.remaining_minutes!)} h left</span>
      </span>);
  }
  if (b.amount !== null) {
    parts.push(
      <span key="m">
        {money(b.billable_amount, b.currency)} of {money(b.amount, b.currency)},{' '}
        <span className={b.remaining_amount! < 0 ? 'danger-text' : ''}>{money(b.remaining_amount, b.currency)} left</span>
      </span>);
  }
  if (b.hours === null) {
    parts.push(<span key="b">{hoursDecimal(b.billable_minutes)} h billable</span>);
  }
  return (
    <span className="budget-line" data-testid="budget-line">
      {parts.map((p, i) => <span key={i}>{i > 0 && ' · '}{p}</span>)}
    </span>
  );
}
