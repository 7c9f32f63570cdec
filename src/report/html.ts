import type { Component } from '../model/component.js';
import { resultCodeName } from '../model/result-codes.js';
import type { TimelineRow, TimelineRun } from '../workflow/timeline.js';
import type { DeploymentRecord } from './deployments.js';

/** What `report.html` shows; everything in it is already redacted. */
export interface ReportPage {
  generatedAt: string;
  version: string;
  hostname: string;
  runtime: string;
  configSource: string;
  configError?: string;
  components?: Component[];
  listError?: string;
  deployments: DeploymentRecord[];
  omittedDeployments: number;
  /** The files of the bundle's logs/ folder. */
  logs: Array<{ name: string; bytes: number; note?: string }>;
}

/**
 * `report.html`: one self-contained page (inline CSS, inline SVG, no script, no external URL) that
 * opens offline in any browser. Each deployment gets its results and, for every run recorded with
 * a timeline, an SVG with one row per step × component: the phases as coloured spans, the
 * throughput over time as a line, and the result at the end.
 */
export function renderReportHtml(p: ReportPage): string {
  const body = [
    `<h1>sensor-proxy report</h1>`,
    `<table class="kv">${kv('generated', p.generatedAt)}${kv('version', p.version)}${kv('host', p.hostname)}${kv('runtime', p.runtime)}${kv('config', p.configSource)}</table>`,
    p.configError ? `<p class="bad">config: ${esc(p.configError)}</p>` : '',
    section('Components (list)', componentsHtml(p)),
    section(
      `Deployments (${p.deployments.length}${p.omittedDeployments ? `, ${p.omittedDeployments} older ones left out` : ''})`,
      p.deployments.length ? p.deployments.map(deploymentHtml).join('\n') : '<p>no deployment recorded</p>',
    ),
    section(
      'Logs',
      `<ul>${p.logs.map((l) => `<li><code>logs/${esc(l.name)}</code> ${l.bytes} bytes${l.note ? ` (${esc(l.note)})` : ''}</li>`).join('')}</ul>`,
    ),
  ].join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>sensor-proxy report ${esc(p.hostname)} ${esc(p.generatedAt)}</title>
<style>${CSS}</style></head>
<body>
${body}
</body></html>
`;
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:1.5em}h3{font-size:1.05em;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}table.kv th,table.kv td{border:none;padding:0 1em 0 0}
.ok{color:#176b2c}.bad{color:#b00020}.muted{color:#777}
.dep{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;margin:1em 0}
svg{display:block;max-width:100%;height:auto;margin:.4em 0}
svg text{font:11px system-ui,sans-serif;fill:#222}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-1px}
code{font-size:12px}
`;

const PHASE_COLOURS: Record<string, string> = {
  connect: '#9e9e9e',
  bootloader: '#8d6e63',
  detach: '#8d6e63',
  reenumerate: '#a1887f',
  session: '#78909c',
  security: '#607d8b',
  erase: '#ef6c00',
  transfer: '#1e88e5',
  download: '#1e88e5',
  verify: '#8e24aa',
  check: '#8e24aa',
  test: '#00897b',
  manifest: '#6d4c41',
  reset: '#fbc02d',
  confirm: '#43a047',
  running: '#b0bec5',
};

function phaseColour(phase: string): string {
  const c = PHASE_COLOURS[phase];
  if (c) return c;
  let h = 0;
  for (const ch of phase) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${h},45%,55%)`;
}

function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const kv = (k: string, v: string) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`;
const section = (title: string, html: string) => `<h2>${esc(title)}</h2>\n${html}`;

function componentsHtml(p: ReportPage): string {
  if (p.listError) return `<p class="bad">${esc(p.listError)}</p>`;
  if (!p.components?.length) return '<p>no components found</p>';
  const rows = p.components.map(
    (c) =>
      `<tr><td>${esc(c.id)}</td><td>${esc(c.name)}</td><td>${esc(c.group)}</td><td>${esc(c.manufacturer)}</td><td>${esc(c.model)}</td><td>${esc(c.version ?? c.properties.version ?? '')}</td><td>${esc(c.properties.bus ?? '')}</td></tr>`,
  );
  return `<table><tr><th>id</th><th>name</th><th>group</th><th>manufacturer</th><th>model</th><th>version</th><th>bus</th></tr>${rows.join('')}</table>`;
}

function resultHtml(code: number | undefined): string {
  if (code === undefined) return '<span class="muted">—</span>';
  return `<span class="${code > 0 ? 'ok' : 'bad'}">${code} ${esc(resultCodeName(code))}</span>`;
}

function deploymentHtml(d: DeploymentRecord): string {
  const s = d.state;
  if (!s)
    return `<div class="dep"><h3>${esc(d.name)}</h3><p class="bad">state unreadable: ${esc(d.stateError)}</p></div>`;
  const u = s.updateId;
  const last = s.lastInstallResult as
    { resultCode?: number; extendedResultCodes?: string; resultDetails?: string } | undefined;
  const head = `<h3>${esc(u ? `${u.provider}/${u.name}/${u.version}` : d.name)} <span class="${s.status === 'succeeded' ? 'ok' : s.status === 'running' ? 'muted' : 'bad'}">${esc(s.status)}</span></h3>`;
  const facts = `<table class="kv">${kv('workflow', s.workflowId)}${kv('started', s.startedAt)}${kv('finished', s.finishedAt ?? '—')}${kv('attempts', String(s.attempts))}${
    last ? kv('result', `${last.resultCode ?? ''} ${last.extendedResultCodes ?? ''} ${last.resultDetails ?? ''}`) : ''
  }</table>`;
  const steps = Object.entries(s.steps ?? {}).map(([key, rec]) => {
    const [step, comp] = key.split('@');
    const r = rec.result;
    return `<tr><td>${esc(step)}</td><td>${esc(comp)}</td><td>${resultHtml(r.resultCode)}</td><td>0x${(r.extendedResultCode ?? 0).toString(16).padStart(8, '0')}</td><td>${esc(r.resultDetails ?? '')}</td><td>${esc(rec.finishedAt)}</td></tr>`;
  });
  // Steps that never started (another component failed first, a cancel): "not run", not a failure.
  for (const [key, why] of Object.entries(s.notRun ?? {})) {
    if (s.steps?.[key]) continue;
    const [step, comp] = key.split('@');
    steps.push(
      `<tr><td>${esc(step)}</td><td>${esc(comp)}</td><td><span class="muted">not run</span></td><td></td><td>${esc(why)}</td><td>—</td></tr>`,
    );
  }
  const stepTable = steps.length
    ? `<table><tr><th>step</th><th>component</th><th>result</th><th>erc</th><th>details</th><th>finished</th></tr>${steps.join('')}</table>`
    : '<p class="muted">no step finished</p>';
  const runs = d.timeline?.runs ?? [];
  const timelines = runs.length
    ? runs
        .map((run, i) => {
          const svg = timelineSvg(run);
          const title = `run ${i + 1} of ${runs.length}, started ${run.startedAt}${run.finishedAt ? `, ${run.succeeded ? 'succeeded' : 'did not succeed'}` : ', did not finish'}`;
          return i === runs.length - 1
            ? `<h4>${esc(title)}</h4>${svg}`
            : `<details><summary>${esc(title)}</summary>${svg}</details>`;
        })
        .join('\n')
    : '<p class="muted">no timeline recorded for this deployment</p>';
  return `<div class="dep">${head}${facts}${timelines}${stepTable}</div>`;
}

const W = 980;
const LABEL = 230;
const RESULT = 150;
const ROW = 34;
const AXIS = 24;

/** One run as an SVG: a row per step × component with phase spans, throughput line and result. */
export function timelineSvg(run: TimelineRun): string {
  const rows = run.rows;
  if (rows.length === 0) return '<p class="muted">no step ran</p>';
  const span = Math.max(1, ...rows.map((r) => r.end ?? r.samples.at(-1)?.[0] ?? r.phases.at(-1)?.[0] ?? r.start));
  const plot = W - LABEL - RESULT;
  const x = (t: number) => LABEL + (t / span) * plot;
  const h = AXIS + rows.length * ROW + 4;
  const parts: string[] = [];
  // time axis
  const step = niceStep(span / 8);
  for (let t = 0; t <= span; t += step) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="${AXIS - 4}" x2="${x(t).toFixed(1)}" y2="${h}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${AXIS - 8}" text-anchor="middle">${fmtSeconds(t)}</text>`);
  }
  const phasesSeen = new Set<string>();
  rows.forEach((r, i) => {
    const y = AXIS + i * ROW;
    const end = r.end ?? span;
    parts.push(
      `<text x="4" y="${y + 14}">${esc(trim(`${r.componentId ?? 'host'}  step ${r.step}`, 34))}<title>${esc(`${r.componentId ?? 'host'} step ${r.step} ${r.handler ?? ''}`)}</title></text>`,
    );
    const moved = transferSummary(r);
    if (moved) parts.push(`<text x="4" y="${y + 27}" style="fill:#777">${esc(moved)}</text>`);
    parts.push(
      `<rect x="${x(r.start).toFixed(1)}" y="${y + 6}" width="${Math.max(1, x(end) - x(r.start)).toFixed(1)}" height="${ROW - 12}" fill="#eceff1"/>`,
    );
    r.phases.forEach(([t, phase], j) => {
      const until = r.phases[j + 1]?.[0] ?? end;
      phasesSeen.add(phase);
      parts.push(
        `<rect x="${x(t).toFixed(1)}" y="${y + 6}" width="${Math.max(1, x(until) - x(t)).toFixed(1)}" height="${ROW - 12}" fill="${phaseColour(phase)}" fill-opacity="0.55"><title>${esc(`${phase}: ${fmtSeconds(t)} – ${fmtSeconds(until)}`)}</title></rect>`,
      );
    });
    parts.push(throughputLine(r, y, x));
    const res = r.result
      ? `${r.outcome === 'skipped' ? 'skipped ' : ''}${r.result.resultCode} ${resultCodeName(r.result.resultCode)}`
      : 'did not finish';
    const ok = r.result ? r.result.resultCode > 0 : false;
    parts.push(
      `<text x="${W - RESULT + 6}" y="${y + ROW / 2 + 4}" fill="${ok ? '#176b2c' : '#b00020'}" style="fill:${ok ? '#176b2c' : '#b00020'}">${esc(trim(res, 26))}<title>${esc(r.result?.resultDetails ?? res)}</title></text>`,
    );
  });
  const legend = [...phasesSeen]
    .map((ph) => `<span><i style="background:${phaseColour(ph)};opacity:.7"></i>${esc(ph)}</span>`)
    .join('');
  return `<svg viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="timeline">${parts.join('')}</svg><div class="legend">${legend}<span><i style="background:#0d47a1"></i>throughput</span></div>`;
}

/** Bytes per second between samples, drawn in the row (peak labelled). */
function throughputLine(r: TimelineRow, y: number, x: (t: number) => number): string {
  const rates: Array<[number, number]> = [];
  for (let i = 1; i < r.samples.length; i++) {
    const [t0, b0] = r.samples[i - 1]!;
    const [t1, b1] = r.samples[i]!;
    if (t1 > t0 && b1 >= b0) rates.push([t1, ((b1 - b0) * 1000) / (t1 - t0)]);
  }
  if (rates.length === 0) return '';
  const peak = Math.max(...rates.map(([, v]) => v));
  if (peak <= 0) return '';
  const top = y + 4;
  const bottom = y + ROW - 4;
  const pts = rates.map(([t, v]) => `${x(t).toFixed(1)},${(bottom - (v / peak) * (bottom - top)).toFixed(1)}`);
  const first = r.samples[0]!;
  const lastS = r.samples.at(-1)!;
  const avg = lastS[0] > first[0] ? ((lastS[1] - first[1]) * 1000) / (lastS[0] - first[0]) : 0;
  return `<polyline points="${pts.join(' ')}" fill="none" stroke="#0d47a1" stroke-width="1.5"><title>${esc(`throughput: peak ${fmtRate(peak)}, average ${fmtRate(avg)}, ${lastS[1]} of ${r.bytesTotal ?? '?'} bytes`)}</title></polyline>`;
}

/** `24.0 KiB at 3.1 KiB/s`: bytes moved and the average rate while they moved. */
function transferSummary(r: TimelineRow): string | undefined {
  const first = r.samples[0];
  const last = r.samples.at(-1);
  if (!first || !last) return undefined;
  const rate = last[0] > first[0] ? ((last[1] - first[1]) * 1000) / (last[0] - first[0]) : 0;
  return `${fmtBytes(last[1])}${rate > 0 ? ` at ${fmtRate(rate)}` : ''}`;
}

function fmtBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

function fmtSeconds(ms: number): string {
  return ms >= 60_000
    ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`
    : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

export function fmtRate(bps: number): string {
  return bps >= 1 << 20
    ? `${(bps / (1 << 20)).toFixed(1)} MiB/s`
    : bps >= 1024
      ? `${(bps / 1024).toFixed(1)} KiB/s`
      : `${Math.round(bps)} B/s`;
}

function trim(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}
