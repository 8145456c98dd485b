// Hand-written SVG charts: small, accessible (a title and a table-like
// description), no library.
import { useId } from 'react';

const PALETTE = ['#4f46e5', '#0ea5e9', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#64748b'];
export const color = (i: number) => PALETTE[i % PALETTE.length];

export type Datum = { label: string; value: number; color?: string };

export function BarChart({ data, title, unit = '', height = 180, max: fixedMax, line }: {
  data: Datum[]; title: string; unit?: string; height?: number; max?: number;
  line?: { value: number; label: string };
}) {
  const id = useId();
  const w = Math.max(240, data.length * 44);
  const pad = { l: 36, r: 8, t: 12, b: 36 };
  const max = fixedMax ?? Math.max(1, ...data.map((d) => d.value), line?.value ?? 0);
  const ih = height - pad.t - pad.b;
  const bw = (w - pad.l - pad.r) / Math.max(1, data.length);
  const y = (v: number) => pad.t + ih - (v / max) * ih;
  const ticks = [0, max / 2, max];
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${height}`} role="img" aria-labelledby={id} preserveAspectRatio="xMidYMid meet">
        <title id={id}>{title}: {data.map((d) => `${d.label} ${fmtN(d.value)}${unit}`).join(', ')}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.l} x2={w - pad.r} y1={y(t)} y2={y(t)} className="grid" />
            <text x={pad.l - 4} y={y(t) + 4} className="axis" textAnchor="end">{fmtN(t)}</text>
          </g>
        ))}
        {data.map((d, i) => (
          <g key={i}>
            <rect x={pad.l + i * bw + bw * 0.18} width={bw * 0.64} y={y(d.value)}
              height={Math.max(0, pad.t + ih - y(d.value))} rx={3} fill={d.color || color(0)}>
              <title>{d.label}: {fmtN(d.value)}{unit}</title>
            </rect>
            <text x={pad.l + i * bw + bw / 2} y={height - pad.b + 14} className="axis" textAnchor="middle">
              {short(d.label, Math.max(3, Math.floor(bw / 6.5)))}
            </text>
          </g>
        ))}
        {line && (
          <g>
            <line x1={pad.l} x2={w - pad.r} y1={y(line.value)} y2={y(line.value)} className="ref" />
            <text x={w - pad.r} y={y(line.value) - 4} className="axis" textAnchor="end">{line.label}</text>
          </g>
        )}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

// Bars laid across, one row per item: for comparing many named things
// (projects, people), where a column chart's labels would collide. Plain
// HTML, so the text keeps the page's size however narrow the box is.
export function BarList({ data, title, unit = '', max: fixedMax, line, empty }: {
  data: (Datum & { hint?: string })[]; title: string; unit?: string; max?: number;
  line?: { value: number; label: string };
  empty?: string;          // said instead of a column of zeros
}) {
  const max = fixedMax ?? Math.max(1, ...data.map((d) => d.value), line?.value ?? 0);
  const pct = (v: number) => `${Math.max(0, Math.min(100, (v / max) * 100))}%`;
  return (
    <figure className="chart bar-list">
      {empty && data.every((d) => d.value === 0) ? <p className="bl-empty">{empty}</p> : (
      <ul aria-label={title}>
        {data.map((d, i) => (
          <li key={i} title={`${d.hint ?? d.label}: ${fmtN(d.value)}${unit}`}>
            <span className="bl-label">{d.label}</span>
            <span className="bl-track">
              {d.value > 0 && <span className="bl-bar" style={{ width: pct(d.value), background: d.color || color(0) }} />}
              {line && <span className="bl-ref" style={{ left: pct(line.value) }} />}
            </span>
            <span className="bl-value">{fmtN(d.value)}{unit}</span>
          </li>
        ))}
      </ul>
      )}
      <figcaption>
        {title}
        {line && <span className="legend"><i className="bl-ref-key" />{line.label}</span>}
      </figcaption>
    </figure>
  );
}

export function LineChart({ series, labels, title, height = 180 }: {
  series: { name: string; values: number[]; color?: string; dashed?: boolean }[];
  labels: string[]; title: string; height?: number;
}) {
  const id = useId();
  const w = 480, pad = { l: 36, r: 10, t: 12, b: 30 };
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const n = Math.max(2, labels.length);
  const x = (i: number) => pad.l + (i / (n - 1)) * (w - pad.l - pad.r);
  const y = (v: number) => pad.t + (height - pad.t - pad.b) * (1 - v / max);
  const every = Math.ceil(labels.length / 6);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${height}`} role="img" aria-labelledby={id}>
        <title id={id}>{title}</title>
        {[0, max / 2, max].map((t) => (
          <g key={t}>
            <line x1={pad.l} x2={w - pad.r} y1={y(t)} y2={y(t)} className="grid" />
            <text x={pad.l - 4} y={y(t) + 4} className="axis" textAnchor="end">{fmtN(t)}</text>
          </g>
        ))}
        {labels.map((l, i) => i % every === 0 && (
          <text key={i} x={x(i)} y={height - 10} className="axis" textAnchor="middle">{l}</text>
        ))}
        {series.map((s, si) => (
          <polyline key={s.name} fill="none" stroke={s.color || color(si)} strokeWidth={2}
            strokeDasharray={s.dashed ? '5 4' : undefined}
            points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}>
            <title>{s.name}</title>
          </polyline>
        ))}
      </svg>
      <figcaption>
        {title}
        <span className="legend">
          {series.map((s, i) => (
            <span key={s.name}><i className={`swatch c${PALETTE.indexOf(s.color || color(i))}`} />{s.name}</span>
          ))}
        </span>
      </figcaption>
    </figure>
  );
}

export function Donut({ data, title, size = 150 }: { data: Datum[]; title: string; size?: number }) {
  const id = useId();
  const total = data.reduce((a, d) => a + d.value, 0) || 1;
  const r = size / 2 - 12, c = 2 * Math.PI * r;
  let off = 0;
  return (
    <figure className="chart donut">
      <svg viewBox={`0 0 ${size} ${size}`} width={size} height={size} role="img" aria-labelledby={id}>
        <title id={id}>{title}: {data.map((d) => `${d.label} ${d.value}`).join(', ')}</title>
        <circle cx={size / 2} cy={size / 2} r={r} fill="none" stroke="#eef0f4" strokeWidth={18} />
        {data.map((d, i) => {
          const len = (d.value / total) * c;
          const el = (
            <circle key={i} cx={size / 2} cy={size / 2} r={r} fill="none"
              stroke={d.color || color(i)} strokeWidth={18}
              strokeDasharray={`${len} ${c - len}`} strokeDashoffset={-off}
              transform={`rotate(-90 ${size / 2} ${size / 2})`}>
              <title>{d.label}: {d.value}</title>
            </circle>
          );
          off += len;
          return el;
        })}
        <text x={size / 2} y={size / 2 + 6} textAnchor="middle" className="donut-total">
          {data.reduce((a, d) => a + d.value, 0)}
        </text>
      </svg>
      <figcaption>
        {title}
        <span className="legend">
          {data.map((d, i) => (
            <span key={d.label}><i className={`swatch c${PALETTE.indexOf(d.color || color(i))}`} />{d.label} {d.value}</span>
          ))}
        </span>
      </figcaption>
    </figure>
  );
}

function fmtN(v: number) {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
}

const short = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
