// The workspace's full export, as its admin takes the data away (during a
// deletion's grace period too): asked for, followed while the runner
// makes it (every two seconds), then downloaded as gzip'd JSON of every
// table. Only the newest export is kept; the page starts from it.
import { useEffect, useState } from 'react';
import { api, download } from '../api/client';
import type { Schemas } from '../api/types';
import { ErrorNote } from '../ui/kit';

type Export = Schemas['WorkspaceExport'];

const mb = (n: number) => (n < 1024 * 1024 ? `${Math.max(1, Math.round(n / 1024))} KB`
  : `${(n / 1024 / 1024).toFixed(1)} MB`);

export function WorkspaceExport({ slug }: { slug: string }) {
  const [job, setJob] = useState<Export | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  // the newest export, so that a reload finds the one under way or its file
  useEffect(() => {
    let live = true;
    api<{ items: Export[] }>('GET', '/api/v1/workspace/exports').then(
      (list) => { if (live && list.items.length) setJob((j) => j ?? list.items[0]); },
      (err) => { if (live) setError(err); });
    return () => { live = false; };
  }, []);

  const going = job && (job.state === 'queued' || job.state === 'running');
  useEffect(() => {
    if (!going || !job) return undefined;
    const t = window.setInterval(() => {
      api<Export>('GET', `/api/v1/workspace/exports/${job.id}`).then(setJob, setError);
    }, 2000);
    return () => window.clearInterval(t);
  }, [going, job]);

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      setJob(await api<Export>('POST', '/api/v1/workspace/export'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    if (!job) return;
    try {
      await download(`/api/v1/workspace/exports/${job.id}/download`, `${slug}-export.json.gz`,
        'application/gzip');
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="box stack ws-export" aria-labelledby="ws-export-title">
      <h2 id="ws-export-title">Export the workspace</h2>
      <p className="muted">Every project, task, comment, person and setting as JSON (gzip&apos;d),
        made in the background. Only the newest export is kept.</p>
      {job && (
        <div className="usage-row" role="status">
          <span className="field-label">Export</span>
          {job.state === 'succeeded' ? (
            <span>ready{job.bytes != null ? `, ${mb(job.bytes)}` : ''}
              {' '}<button className="btn" type="button" onClick={save}>Download</button></span>
          ) : job.state === 'failed' ? (
            <span className="op-job-error">failed: {job.error}</span>
          ) : (
            <>
              <span className="progress usage-bar" role="progressbar" aria-label="Export progress"
                aria-valuemin={0} aria-valuemax={100} aria-valuenow={job.progress}>
                <span className="bar" style={{ width: `${job.progress}%` }} />
              </span>
              <span className="small">{job.state}, {job.progress}%</span>
            </>
          )}
        </div>
      )}
      <div>
        <button className="btn" type="button" disabled={busy || !!going} onClick={start}>
          {job?.state === 'succeeded' ? 'Export again' : 'Export everything'}
        </button>
      </div>
      <ErrorNote error={error} />
    </section>
  );
}
