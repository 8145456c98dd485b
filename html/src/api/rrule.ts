// Repeat rules (the RFC 5545 subset the API takes: FREQ, INTERVAL, BYDAY,
// BYMONTHDAY, UNTIL, COUNT) as a form edits them, and their words. The
// server says the same words (Recurrence.summary) for a saved rule; these
// are for the rule being edited, before it is saved.

export type Freq = 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';
export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export type Weekday = typeof WEEKDAYS[number];
const NAMES: Record<Weekday, string> = { MO: 'Mon', TU: 'Tue', WE: 'Wed', TH: 'Thu', FR: 'Fri', SA: 'Sat', SU: 'Sun' };

export type RuleForm = {
  freq: Freq;
  interval: number;
  days: Weekday[];                 // weekly
  monthly: 'day' | 'nth' | 'last'; // on day N, on the Nth weekday, on the last day
  monthDay: number;
  nth: number;                     // 1..4, or -1 (last)
  nthDay: Weekday;
  end: 'never' | 'count' | 'until';
  count: number;
  until: string;                   // YYYY-MM-DD
};

export function blankRule(start: Date = new Date()): RuleForm {
  const wd = WEEKDAYS[(start.getDay() + 6) % 7];
  return {
    freq: 'WEEKLY', interval: 1, days: [wd], monthly: 'day', monthDay: start.getDate(),
    nth: Math.min(Math.ceil(start.getDate() / 7), 4), nthDay: wd, end: 'never', count: 10, until: '',
  };
}

export function toRule(f: RuleForm): string {
  const parts = [`FREQ=${f.freq}`];
  if (f.interval > 1) parts.push(`INTERVAL=${f.interval}`);
  if (f.freq === 'WEEKLY' && f.days.length) parts.push(`BYDAY=${WEEKDAYS.filter((d) => f.days.includes(d)).join(',')}`);
  if (f.freq === 'MONTHLY') {
    if (f.monthly === 'day') parts.push(`BYMONTHDAY=${f.monthDay}`);
    if (f.monthly === 'last') parts.push('BYMONTHDAY=-1');
    if (f.monthly === 'nth') parts.push(`BYDAY=${f.nth}${f.nthDay}`);
  }
  if (f.end === 'count') parts.push(`COUNT=${f.count}`);
  if (f.end === 'until' && f.until) parts.push(`UNTIL=${f.until.replace(/-/g, '')}`);
  return parts.join(';');
}

// The form of a rule the API returned (one this form could have made).
export function fromRule(rule: string): RuleForm {
  const f = blankRule();
  f.days = [];
  for (const part of rule.replace(/^RRULE:/i, '').split(';')) {
    const [k, v = ''] = part.split('=');
    if (k === 'FREQ') f.freq = v as Freq;
    if (k === 'INTERVAL') f.interval = Number(v) || 1;
    if (k === 'COUNT') { f.end = 'count'; f.count = Number(v) || 1; }
    if (k === 'UNTIL') { f.end = 'until'; f.until = `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}`; }
    if (k === 'BYMONTHDAY') {
      if (v === '-1') f.monthly = 'last';
      else { f.monthly = 'day'; f.monthDay = Number(v.split(',')[0]) || 1; }
    }
    if (k === 'BYDAY') {
      const m = /^(-?\d)(\w\w)$/.exec(v);
      if (m) { f.monthly = 'nth'; f.nth = Number(m[1]); f.nthDay = m[2] as Weekday; }
      else f.days = v.split(',') as Weekday[];
    }
  }
  return f;
}

function ordinal(n: number) {
  if (n === -1) return 'last';
  return n + (n === 1 ? 'st' : n === 2 ? 'nd' : n === 3 ? 'rd' : 'th');
}

// "Every 2 weeks on Mon, Wed", "Monthly on the 2nd Tue, 5 times"
export function summary(f: RuleForm, afterDone = false): string {
  const unit = { DAILY: 'day', WEEKLY: 'week', MONTHLY: 'month', YEARLY: 'year' }[f.freq];
  const ends = f.end === 'count' ? `, ${f.count} times` : f.end === 'until' && f.until ? `, until ${f.until}` : '';
  if (afterDone) {
    return `${f.interval} ${unit}${f.interval > 1 ? 's' : ''} after the previous one is done${ends}`;
  }
  let s = f.interval === 1
    ? { DAILY: 'Daily', WEEKLY: 'Weekly', MONTHLY: 'Monthly', YEARLY: 'Yearly' }[f.freq]
    : `Every ${f.interval} ${unit}s`;
  if (f.freq === 'WEEKLY' && f.days.length) s += ` on ${WEEKDAYS.filter((d) => f.days.includes(d)).map((d) => NAMES[d]).join(', ')}`;
  if (f.freq === 'MONTHLY') {
    if (f.monthly === 'day') s += ` on day ${f.monthDay}`;
    if (f.monthly === 'last') s += ' on the last day';
    if (f.monthly === 'nth') s += ` on the ${ordinal(f.nth)} ${NAMES[f.nthDay]}`;
  }
  return s + ends;
}

export const dayName = (d: Weekday) => NAMES[d];
