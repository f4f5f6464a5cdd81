/** Number and text formatting shared by the progress line and the reports. */

/** A duration in ms for people: "0.42 ms", "12.3 ms", "245 ms", "1.25 s", "2 min 5 s". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const min = Math.floor(ms / 60_000);
  return `${min} min ${Math.round((ms - min * 60_000) / 1000)} s`;
}

/** Elapsed time as h:mm:ss (or mm:ss under an hour). */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A rate per second with sensible precision. */
export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return '—';
  if (perSec >= 100) return Math.round(perSec).toLocaleString('en-US');
  if (perSec >= 10) return perSec.toFixed(1);
  return perSec.toFixed(2);
}

/** An integer with thousands separators. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A ratio as a percentage, "—" when unknown. */
export function formatPercent(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return '—';
  if (r === 1) return '100%';
  const p = r * 100;
  if (p > 0 && p < 0.1) return `${p.toPrecision(2)}%`;
  // Never round a ratio below 1 up to "100%": add decimals until it shows.
  let digits = 1;
  while (digits < 6 && r < 1 && Number(p.toFixed(digits)) >= 100) digits += 1;
  return `${p.toFixed(digits)}%`;
}

/** Escapes text for HTML and XML content and attribute values (quotes included). */
export function escapeHtml(text: unknown): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Shortens text to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 1 ? '…' : `${text.slice(0, max - 1)}…`;
}
