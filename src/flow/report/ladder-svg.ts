import { escapeHtml, formatMs, truncate } from './format.ts';
import type { LadderEntry } from './report-types.ts';

/**
 * A ladder (sequence) diagram of one client's transcript as inline SVG: one column per participant
 * in order of first appearance, one arrow per entry labelled with the message and its time since
 * the first entry; failed entries are drawn in red with their detail under the arrow.
 */
export interface LadderSvgOptions {
  title?: string;
  width?: number;
  /** Prefix of the arrow-head ids; must differ between ladders of one page. Default 'ladder'. */
  idPrefix?: string;
}

const TOP = 64;
const ROW = 50;
const TIME_W = 92;
const SIDE = 78;

export function renderLadderSvg(entries: LadderEntry[], opts: LadderSvgOptions = {}): string {
  const W = opts.width ?? 1040;
  const participants: string[] = [];
  for (const e of entries) {
    if (!participants.includes(e.from)) participants.push(e.from);
    if (!participants.includes(e.to)) participants.push(e.to);
  }
  if (participants.length === 0) participants.push('client', 'server');

  // Columns spread over the width, but not further apart than 600 px, centred.
  const usable = W - TIME_W - 2 * SIDE;
  const n = participants.length;
  const gap = n > 1 ? Math.min(600, usable / (n - 1)) : 0;
  const span = gap * (n - 1);
  const firstX = TIME_W + SIDE + (usable - span) / 2;
  const colX = new Map(participants.map((p, i) => [p, firstX + i * gap]));
  const H = TOP + Math.max(1, entries.length) * ROW + 24;
  const t0 = entries.length ? entries[0].at : 0;
  // Characters that fit between two columns at ~6.4 px each (12 px sans-serif).
  const labelChars = Math.max(12, Math.floor((gap || 300) / 6.6));
  const boxW = Math.min(140, Math.max(90, gap - 16 || 140));

  const p: string[] = [];
  const title = opts.title ?? 'Ladder diagram';
  const id = (opts.idPrefix ?? 'ladder').replace(/[^A-Za-z0-9_-]/g, '_');
  p.push(
    `<svg class="ladder" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeHtml(title)}">`,
    `<title>${escapeHtml(title)}</title>`,
    '<defs>',
    `<marker id="${id}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#475569"/></marker>`,
    `<marker id="${id}-arrow-failed" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#dc2626"/></marker>`,
    '</defs>',
  );
  p.push(`<text class="lh" x="${TIME_W - 10}" y="${TOP - 30}" text-anchor="end">time</text>`);

  for (const name of participants) {
    const x = colX.get(name) as number;
    p.push(`<line class="lifeline" x1="${r(x)}" y1="${TOP - 14}" x2="${r(x)}" y2="${H - 8}"/>`);
    p.push(`<rect class="actor" x="${r(x - boxW / 2)}" y="${TOP - 50}" width="${r(boxW)}" height="32" rx="6"/>`);
    p.push(`<text class="actor-name" x="${r(x)}" y="${TOP - 29}" text-anchor="middle">${escapeHtml(truncate(name, Math.floor(boxW / 7.5)))}<title>${escapeHtml(name)}</title></text>`);
  }

  entries.forEach((e, i) => {
    const y = TOP + i * ROW + 26;
    const x1 = colX.get(e.from) as number;
    const x2 = colX.get(e.to) as number;
    const failed = e.failed === true;
    const cls = failed ? ' failed' : '';
    const marker = failed ? `url(#${id}-arrow-failed)` : `url(#${id}-arrow)`;
    const full = e.detail ? `${e.label}\n${e.detail}` : e.label;
    p.push(`<g class="msg${cls}"><title>${escapeHtml(full)}</title>`);
    p.push(`<text class="time${cls}" x="${TIME_W - 10}" y="${y + 4}" text-anchor="end">+${escapeHtml(formatMs(e.at - t0))}</text>`);
    let labelX: number;
    let anchor: string;
    if (x1 === x2) {
      // A message to oneself (e.g. a local timeout): a small loop to the right.
      p.push(`<path class="arrow${cls}" d="M${r(x1)},${y - 8}h36v16h-34" marker-end="${marker}"/>`);
      labelX = x1 + 44;
      anchor = 'start';
    } else {
      const dir = x2 > x1 ? 1 : -1;
      p.push(`<line class="arrow${cls}" x1="${r(x1 + dir * 2)}" y1="${y}" x2="${r(x2 - dir * 2)}" y2="${y}" marker-end="${marker}"/>`);
      labelX = (x1 + x2) / 2;
      anchor = 'middle';
    }
    const chars = x1 === x2 ? labelChars : Math.max(12, Math.floor(Math.abs(x2 - x1) / 7));
    p.push(`<text class="label${cls}" x="${r(labelX)}" y="${y - 7}" text-anchor="${anchor}">${failed ? '✕ ' : ''}${escapeHtml(truncate(e.label, chars))}</text>`);
    if (e.detail) {
      p.push(`<text class="detail${cls}" x="${r(labelX)}" y="${y + 16}" text-anchor="${anchor}">${escapeHtml(truncate(oneLine(e.detail), Math.floor(chars * 1.15)))}</text>`);
    }
    p.push('</g>');
  });
  if (entries.length === 0) {
    p.push(`<text class="empty" x="${W / 2}" y="${TOP + 30}" text-anchor="middle">no messages recorded</text>`);
  }
  p.push('</svg>');
  return p.join('');
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ⏎ ');
}

function r(v: number): number {
  return Math.round(v * 10) / 10;
}
