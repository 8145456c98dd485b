// A link's QR code as the person wants it printed: size, colours and error
// correction, previewed live from qr.svg with those options and downloaded
// as that SVG. A pair the server refuses (light on dark, too little
// contrast) is explained where the image would be, never a broken image.
import { useEffect, useState } from 'react';
import { ApiError, api, download, errorMessage } from '../api/client';
import type { ShareLink } from '../api/types';
import { Spinner } from '../ui/kit';

const SIZES = [128, 256, 512, 1024, 2048];
const LEVELS = [
  { ec: 'L', name: 'L', hint: '7 % of the code restorable: the smallest code' },
  { ec: 'M', name: 'M', hint: '15 %: the default' },
  { ec: 'Q', name: 'Q', hint: '25 %' },
  { ec: 'H', name: 'H', hint: '30 %: for a code printed small, worn, or with a logo over it' },
];
const HEX = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i;

type Options = { size: number; fg: string; bg: string; ec: string };

const query = (o: Options) => new URLSearchParams({
  size: String(o.size), fg: o.fg.replace('#', ''), bg: o.bg.replace('#', ''), ec: o.ec,
}).toString();

export default function LinkQr({ link }: { link: ShareLink }) {
  const [o, setO] = useState<Options>({ size: 256, fg: '#111827', bg: '#ffffff', ec: 'M' });
  const [svg, setSvg] = useState<string | null>(null);
  const [refused, setRefused] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const valid = HEX.test(o.fg) && HEX.test(o.bg);

  // the preview follows the options, a moment after the last change
  useEffect(() => {
    if (!valid) return undefined;
    const c = new AbortController();
    const t = setTimeout(() => {
      api<string>('GET', `/api/v1/share-links/${link.id}/qr.svg?${query(o)}`, { accept: 'image/svg+xml', signal: c.signal })
        .then((s) => { setSvg(s); setRefused(null); setError(null); })
        .catch((e) => {
          if (c.signal.aborted) return;
          if (e instanceof ApiError && e.status === 422) { setRefused(errorMessage(e)); setSvg(null); } else setError(errorMessage(e));
        });
    }, 200);
    return () => { clearTimeout(t); c.abort(); };
  }, [link.id, o.size, o.fg, o.bg, o.ec, valid]);

  const set = (p: Partial<Options>) => setO((x) => ({ ...x, ...p }));
  const shown = Math.min(o.size, 180);
  return (
    <div className="qr-options">
      <div className="qr-preview" style={{ background: HEX.test(o.bg) ? normal(o.bg) : undefined }}>
        {refused ? (
          <div className="qr-refused" role="alert">
            <b>Scanners could not read this code.</b>
            <span>{refused}</span>
            <span className="muted">Use dark modules on a light ground, like ink on paper.</span>
          </div>
        ) : svg ? (
          <img src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`} width={shown} height={shown}
            alt={`QR code preview of ${link.short_url}, ${o.size} px, ${o.ec} correction`} />
        ) : error ? <p className="danger-text small" role="alert">{error}</p> : <Spinner label="Drawing…" />}
      </div>
      <div className="qr-form">
        <label className="qr-field"><span>Size</span>
          <select aria-label="QR size" value={o.size} onChange={(e) => set({ size: Number(e.target.value) })}>
            {SIZES.map((s) => <option key={s} value={s}>{s} px</option>)}
          </select>
        </label>
        <Colour label="Foreground" value={o.fg} onChange={(fg) => set({ fg })} />
        <Colour label="Background" value={o.bg} onChange={(bg) => set({ bg })} />
        <div className="qr-field"><span id={`ec-${link.id}`}>Error correction</span>
          <div className="seg" role="radiogroup" aria-labelledby={`ec-${link.id}`}>
            {LEVELS.map((l) => (
              <button key={l.ec} type="button" role="radio" aria-checked={o.ec === l.ec} title={l.hint}
                className={o.ec === l.ec ? 'on' : ''} onClick={() => set({ ec: l.ec })}>{l.name}</button>
            ))}
          </div>
        </div>
        <p className="muted small">{LEVELS.find((l) => l.ec === o.ec)?.hint}</p>
        <div className="row">
          <button type="button" className="btn" disabled={!svg || !valid}
            onClick={() => download(`/api/v1/share-links/${link.id}/qr.svg?${query(o)}`, `qr-${link.code}.svg`, 'image/svg+xml')
              .catch((e) => setError(errorMessage(e)))}>
            Download SVG
          </button>
          <button type="button" className="btn ghost" onClick={() => setO({ size: 256, fg: '#111827', bg: '#ffffff', ec: 'M' })}>Reset</button>
        </div>
      </div>
    </div>
  );
}

// A colour: the browser's picker and its hex, typed or pasted, side by side.
function Colour({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const bad = !HEX.test(text);
  return (
    <label className="qr-field"><span>{label}</span>
      <span className="colour">
        <input type="color" aria-label={`${label} colour`} value={HEX.test(value) ? normal(value) : '#000000'}
          onChange={(e) => onChange(e.target.value)} />
        <input aria-label={`${label} hex`} value={text} maxLength={7} spellCheck={false} aria-invalid={bad}
          onChange={(e) => { setText(e.target.value); if (HEX.test(e.target.value)) onChange(normal(e.target.value)); }} />
      </span>
      {bad && <span className="field-error">A colour is 3 or 6 hex digits, such as #1a2b3c.</span>}
    </label>
  );
}

// #abc and abc as #aabbcc, what <input type=color> takes
function normal(v: string): string {
  const h = v.replace('#', '').toLowerCase();
  return `#${h.length === 3 ? h.split('').map((c) => c + c).join('') : h}`;
}
