/**
 * Durations in flow files and on the command line: `250ms`, `5s`, `2m`, `1h`, `1.5s`, or a bare
 * number of milliseconds. Returns milliseconds; throws RangeError on anything else.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`invalid duration ${value}`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) throw new RangeError(`invalid duration "${value}" (use e.g. 250ms, 5s, 2m)`);
  const n = Number(m[1]);
  switch (m[2]) {
    case 's': return n * 1000;
    case 'm': return n * 60_000;
    case 'h': return n * 3_600_000;
    default: return n;
  }
}

/** A rate such as `50`, `50/s`, `300/m` in clients per second. */
export function parseRate(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m|h))?\s*$/.exec(value);
  if (!m) throw new RangeError(`invalid rate "${value}" (use e.g. 20/s)`);
  const n = Number(m[1]);
  return m[2] === 'm' ? n / 60 : m[2] === 'h' ? n / 3600 : n;
}
