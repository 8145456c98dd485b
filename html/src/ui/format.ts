export const hours = (min: number) => {
  const h = Math.floor(min / 60), m = Math.round(min % 60);
  return m ? `${h}h ${String(m).padStart(2, '0')}m` : `${h}h`;
};
export const hoursDecimal = (min: number) => (min / 60).toFixed(min % 60 ? 1 : 0);
// An amount in its currency, as budgets and billable reports show it.
export const money = (n: number | null | undefined, cur: string) =>
  n === null || n === undefined ? '—' : `${n.toFixed(2)} ${cur}`;

export function isoDate(d: Date) {
  const y = d.getFullYear(), m = d.getMonth() + 1, day = d.getDate();
  return `${y}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
// Which day it is follows the workspace's time zone (GET /api/v1/workspace,
// an admin's setting), as the server's reports, rules and timesheets do,
// not the browser's: set once when the workspace is read, and again when
// an admin changes it. Until then, or for a zone this browser does not
// know, the browser's own.
let zoneDay: Intl.DateTimeFormat | null = null;
let zoneName: string | null = null;
export function setTimeZone(tz: string | null | undefined) {
  zoneDay = null;
  zoneName = null;
  if (!tz) return;
  try {
    zoneDay = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    zoneName = tz;
  } catch { /* RangeError: a zone this browser does not know */ }
}
export const timeZone = () => zoneName;

// The date of an instant in the workspace's zone, YYYY-MM-DD.
export function zonedDate(at: Date): string {
  if (!zoneDay) return isoDate(at);
  const p = Object.fromEntries(zoneDay.formatToParts(at).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}
export const today = () => zonedDate(new Date());

export function parseDate(s: string) {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number);
  return new Date(y, m - 1, d);
}

export function addDays(s: string, n: number) {
  const d = parseDate(s);
  d.setDate(d.getDate() + n);
  return isoDate(d);
}

// ISO 8601 week of a date: "2026-W47"
export function isoWeek(d: Date) {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const y = t.getUTCFullYear();
  const week = Math.ceil(((t.getTime() - Date.UTC(y, 0, 1)) / 86400000 + 1) / 7);
  return `${y}-W${String(week).padStart(2, '0')}`;
}

// The ISO week that holds today in the workspace's zone.
export const thisWeek = () => isoWeek(parseDate(today()));

export function weekMonday(week: string) {
  const [y, w] = week.split('-W').map(Number);
  const jan4 = new Date(y, 0, 4);
  const mon = new Date(jan4);
  mon.setDate(jan4.getDate() - ((jan4.getDay() || 7) - 1) + (w - 1) * 7);
  return mon;
}

export function shiftWeek(week: string, n: number) {
  const d = weekMonday(week);
  d.setDate(d.getDate() + 7 * n);
  return isoWeek(d);
}

const fmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const fmtY = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
// "Jan 15" this year; with the year when it is another one ("Jan 15, 2030"),
// so a date years away never reads as a near one.
export const shortDate = (s: string | null | undefined) =>
  (!s ? '' : s.slice(0, 4) === today().slice(0, 4) ? fmt.format(parseDate(s)) : fmtY.format(parseDate(s)));
export const longDate = (s: string | null | undefined) => (s ? fmtY.format(parseDate(s)) : '');
export const dayName = (s: string) =>
  new Intl.DateTimeFormat(undefined, { weekday: 'short' }).format(parseDate(s));

export function ago(iso: string) {
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.floor(s / 86400)} d ago`;
  return longDate(iso);
}

export const initials = (name?: string | null) =>
  (name || '?').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('');

export const label = (s: string) => s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
