/**
 * Per-client data files: CSV with a header row naming fillers (RFC 4180 quoting: fields in double
 * quotes may hold commas, line breaks and doubled quotes). Row i feeds client i (wrapping around).
 */
export class CsvError extends Error {
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      line++;
    } else field += c;
  }
  if (quoted) throw new CsvError('unterminated quoted field', line);
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  if (rows.length === 0) throw new CsvError('empty data file (a header row names the fillers)', 1);
  const names = rows[0]!.map((n) => n.trim());
  names.forEach((n) => {
    if (!/^[a-z][a-z0-9.\-_]*$/.test(n)) throw new CsvError(`column "${n}" is not a filler name (lower-case letters, digits, "-", ".", "_")`, 1);
  });
  return rows.slice(1).map((r, k) => {
    if (r.length !== names.length) throw new CsvError(`${r.length} fields, the header has ${names.length}`, k + 2);
    const rec: Record<string, string> = {};
    names.forEach((n, j) => (rec[n] = r[j]!));
    return rec;
  });
}
