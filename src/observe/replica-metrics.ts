// The replicas' own /metrics (vLLM's `vllm:` families), re-exported on the gateway's /metrics with
// `replica`, `model` and `region` labels, so one scrape of the gateway shows the engines behind it.
// The text format wants each family once (HELP and TYPE, then all its samples), so every replica's
// last text is parsed into families — once per scrape of it, lazily, when /metrics asks — and the
// families of all replicas are printed together. A line that does not parse is left out by itself;
// nothing here throws into /metrics.

/** Where a replica's samples come from: the labels each of them gets. */
export interface ExportedReplica {
  readonly id: string;
  readonly model: string;
  readonly region: string;
}

export interface ReplicaMetricsOptions {
  /** a replica whose last good scrape is older than this (monotonic ms) is left out */
  readonly maxAgeMs: number;
}

/** Families under these prefixes are the gateway's own: a replica's of the same name would collide. */
const RESERVED = ['switchyard_', 'gen_ai_'] as const;
/** Labels the gateway sets; a replica's own of these names is kept as `exported_<name>` (Prometheus' honor_labels=false rule). */
const ADDED = ['replica', 'model', 'region'] as const;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

interface Family {
  readonly name: string;
  /** where its name is in the text it was parsed from: compared there, char by char, not through a slice */
  readonly at: number;
  help: string | null;
  type: string | null;
  /** false: a reserved name, its samples are dropped */
  readonly kept: boolean;
  /** its sample lines, rewritten, in pieces (mostly slices of the replica's text) while parsing */
  parts: string[];
  /** the same, joined: what a render copies */
  lines: string;
}

/** Whether t[a, a+n) and t[b, b+n) are the same. */
function sameAt(t: string, a: number, b: number, n: number): boolean {
  if (a === b) return true;
  for (let j = 0; j < n; j++) if (t.charCodeAt(a + j) !== t.charCodeAt(b + j)) return false;
  return true;
}

function reserved(name: string): boolean {
  for (const p of RESERVED) if (name.startsWith(p)) return true;
  return false;
}

interface Kept {
  replica: ExportedReplica;
  text: string;
  atMs: number;
  /** the labels every sample gets, escaped */
  added: string;
  /** `text` parsed, or null until a render needs it */
  families: Family[] | null;
  /** the render that last saw the replica in the fleet */
  seen: number;
}

/** A label value as the text format writes it. */
function escapeLabelValue(v: string): string {
  let needs = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92 || c === 34 || c === 10) { needs = true; break; }
  }
  return needs ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

export class ReplicaMetrics {
  readonly #kept = new Map<string, Kept>();
  readonly #maxAgeMs: number;
  #render = 0;

  constructor(o: ReplicaMetricsOptions) {
    this.#maxAgeMs = o.maxAgeMs;
  }

  /** The replica's /metrics text as scraped at `atMs` (monotonic); cheap: parsed only when rendered. */
  keep(replica: ExportedReplica, text: string, atMs: number): void {
    let k = this.#kept.get(replica.id);
    if (k === undefined) {
      k = { replica, text, atMs, added: addedLabels(replica), families: null, seen: this.#render };
      this.#kept.set(replica.id, k);
      return;
    }
    if (k.replica !== replica || k.replica.model !== replica.model || k.replica.region !== replica.region) {
      k.replica = replica;
      k.added = addedLabels(replica);
      k.families = null;
    }
    // a new scrape is a new text (its counters moved): not compared, a 30 KB comparison costs more than it saves
    k.text = text;
    k.families = null;
    k.atMs = atMs;
  }

  /**
   * Every fresh replica's families, grouped across replicas, as Prometheus text ('' when none).
   * Replicas not in `fleet` are forgotten.
   */
  render(fleet: Iterable<ExportedReplica>, nowMs: number): string {
    const gen = ++this.#render;
    const out = new Map<string, { help: string | null; type: string | null; parts: string[] }>();
    for (const r of fleet) {
      const k = this.#kept.get(r.id);
      if (k === undefined) continue;
      k.seen = gen;
      if (nowMs - k.atMs > this.#maxAgeMs) continue;
      if (k.replica !== r) {
        k.replica = r;
        k.added = addedLabels(r);
        k.families = null;
      }
      k.families ??= parseFamilies(k.text, k.added);
      for (const f of k.families) {
        if (!f.kept || f.lines === '') continue;
        const g = out.get(f.name);
        if (g === undefined) {
          out.set(f.name, { help: f.help, type: f.type, parts: [f.lines] });
          continue;
        }
        // two engines disagreeing on a family's type (different vLLM versions): the first one's stands
        if (!compatible(g.type, f.type)) continue;
        g.type ??= f.type;
        g.help ??= f.help;
        g.parts.push(f.lines);
      }
    }
    for (const [id, k] of this.#kept) if (k.seen !== gen) this.#kept.delete(id);
    // one join: the pieces are copied into the result once
    const pieces: string[] = [];
    for (const [name, f] of out) {
      if (f.help !== null) pieces.push(`# HELP ${name} ${f.help}\n`);
      if (f.type !== null) pieces.push(`# TYPE ${name} ${f.type}\n`);
      for (let i = 0; i < f.parts.length; i++) pieces.push(f.parts[i]);
    }
    return pieces.join('');
  }
}

/**
 * Whether samples typed `b` may join a family typed `a` (null: no TYPE line). An untyped family's
 * samples carry the bare name, which a histogram or summary does not allow: those only join their own type.
 */
function compatible(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a === null) return b === 'counter' || b === 'gauge' || b === 'untyped';
  if (b === null) return a === 'counter' || a === 'gauge' || a === 'untyped';
  return false;
}

function addedLabels(r: ExportedReplica): string {
  return `replica="${escapeLabelValue(r.id)}",model="${escapeLabelValue(r.model)}",region="${escapeLabelValue(r.region)}"`;
}

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const LBRACE = 123;
const RBRACE = 125;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const EQUALS = 61;
const CR = 13;
const NL = 10;

/** Where the next backslash is, found once for the whole text rather than once per label value. */
interface Scan { backslash: number }
/** The added labels as a line takes them: alone in braces, closing them, or before its own. */
interface Added { readonly braced: string; readonly closed: string; readonly first: string }
function backslashFrom(t: string, i: number, st: Scan): number {
  if (st.backslash !== -1 && st.backslash < i) st.backslash = t.indexOf('\\', i);
  return st.backslash;
}

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58; // a-z A-Z _ :
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isLabelChar(c: number, first: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (!first && c >= 48 && c <= 57);
}

/** End of the metric name starting at i (i itself when there is none); `within`: i is inside a name already. */
function nameEnd(t: string, i: number, end: number, within: boolean): number {
  if (within) {
    while (i < end && isNameChar(t.charCodeAt(i))) i++;
    return i;
  }
  if (i >= end || !isNameStart(t.charCodeAt(i))) return i;
  let j = i + 1;
  while (j < end && isNameChar(t.charCodeAt(j))) j++;
  return j;
}

/**
 * Whether the sample named t[start, nEnd) is one of the family's: its name, or its name and a
 * suffix its type has in the text format (0.0.4, as Prometheus' own parser reads it: `_bucket`,
 * `_sum`, `_count`). A counter's `_total` or `_created` sample is a family of its own there; taking
 * it into the counter's would print a later `# TYPE …_total` after its samples, which does not parse.
 */
function belongs(f: Family, t: string, start: number, nEnd: number, prefixed: boolean): boolean {
  const s = start + f.name.length;
  const len = nEnd - s;
  // the suffix's length first: most samples of another family fail on that alone
  switch (f.type) {
    case 'histogram': if (len !== 7 && len !== 4 && len !== 6) return false; break;
    case 'summary': if (len !== 0 && len !== 4 && len !== 6) return false; break;
    default: if (len !== 0) return false;
  }
  if (!prefixed && !t.startsWith(f.name, start)) return false;
  if (len === 0) return true;
  return (len === 7 && f.type === 'histogram' && t.startsWith('_bucket', s)) || (len === 4 && t.startsWith('_sum', s)) || (len === 6 && t.startsWith('_count', s));
}

/** A replica's text as families, its samples rewritten with `added` labels; malformed lines left out. */
function parseFamilies(t: string, labels: string): Family[] {
  const added: Added = { braced: `{${labels}}`, closed: `${labels}}`, first: `${labels},` };
  const families: Family[] = [];
  const byName = new Map<string, Family>();
  const family = (name: string, at: number): Family => {
    let f = byName.get(name);
    if (f === undefined) {
      f = { name, help: null, type: null, at, kept: !reserved(name), parts: [], lines: '' };
      byName.set(name, f);
      families.push(f);
    }
    return f;
  };
  let current: Family | null = null;
  const st: Scan = { backslash: -2 };
  const len = t.length;
  let i = 0;
  while (i < len) {
    let end = t.indexOf('\n', i);
    if (end === -1) end = len;
    const next = end + 1;
    if (end > i && t.charCodeAt(end - 1) === CR) end--;
    const c = t.charCodeAt(i);
    if (c === HASH) {
      current = metadata(t, i, end, family, current);
    } else if (end > i && c !== SPACE && c !== TAB) {
      // most lines are the current family's: its name is matched once, then only the suffix scanned
      const own = current !== null && sameAt(t, current.at, i, current.name.length);
      const nEnd = own ? nameEnd(t, i + current!.name.length, end, true) : nameEnd(t, i, end, false);
      if (nEnd > i) {
        let f: Family | undefined;
        if (own && belongs(current!, t, i, nEnd, true)) f = current!;
        else {
          const name = t.slice(i, nEnd);
          f = byName.get(name) ?? ownerBySuffix(byName, name, t, i, nEnd);
          // a typed family's name on a sample that is not one of its own: the text would not parse
          if (f !== undefined && f.type !== null && f.type !== 'untyped' && !belongs(f, t, i, nEnd, false)) f = undefined;
          else f ??= family(name, i);
        }
        if (f !== undefined && f.kept) sampleLine(t, i, nEnd, end, added, f, nEnd - i === f.name.length, st);
      }
    }
    i = next;
  }
  for (const f of families) {
    f.lines = f.parts.join('');
    f.parts = [];
  }
  return families;
}

/**
 * The histogram or summary a `_bucket`, `_sum` or `_count` sample is of, when it comes after
 * another family's lines (a family split within one text): its samples are printed together.
 */
function ownerBySuffix(byName: ReadonlyMap<string, Family>, name: string, t: string, i: number, nEnd: number): Family | undefined {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = byName.get(name.slice(0, -suffix.length));
    if (f !== undefined && (f.type === 'histogram' || f.type === 'summary') && belongs(f, t, i, nEnd, false)) return f;
  }
  return undefined;
}

/** `# HELP name text` or `# TYPE name type`: recorded on its family, which becomes the current one. */
function metadata(t: string, i: number, end: number, family: (name: string, at: number) => Family, current: Family | null): Family | null {
  const help = t.startsWith('# HELP ', i);
  if (!help && !t.startsWith('# TYPE ', i)) return current; // another comment: nothing to keep
  const s = i + 7;
  const nEnd = nameEnd(t, s, end, false);
  if (nEnd === s || (nEnd < end && t.charCodeAt(nEnd) !== SPACE)) return current;
  // TYPE after HELP names the same family: no slice, no lookup
  const f = current !== null && current.name.length === nEnd - s && sameAt(t, current.at, s, nEnd - s) ? current : family(t.slice(s, nEnd), s);
  const rest = nEnd < end ? t.slice(nEnd + 1, end) : '';
  if (help) {
    // a second HELP of a family, or metadata after its samples, would not parse: the first stands
    if (f.help === null && f.parts.length === 0 && validHelp(rest)) f.help = rest;
  } else {
    const type = rest.trim();
    if (f.type === null && f.parts.length === 0 && TYPES.has(type)) f.type = type;
    else if (f.type !== type) return current;
  }
  return f;
}

/** HELP text escapes only `\\` and `\n`. */
function validHelp(s: string): boolean {
  for (let i = s.indexOf('\\'); i !== -1; i = s.indexOf('\\', i + 2)) {
    const n = s.charCodeAt(i + 1);
    if (n !== BACKSLASH && n !== 110) return false;
  }
  return true;
}

/**
 * Appends the sample line from `start` to `end` to its family, the added labels first, unless it
 * is not a well-formed sample: `name{label="value",…} value [timestamp]`.
 */
function sampleLine(t: string, start: number, nEnd: number, end: number, added: Added, f: Family, bare: boolean, st: Scan): void {
  let i = nEnd;
  let labelsFrom = -1;
  let rename = false;
  let hasLe = false;
  let hasQuantile = false;
  let count = 0;
  if (t.charCodeAt(i) === LBRACE) {
    i++;
    labelsFrom = i;
    for (;;) {
      if (i >= end) return;
      if (t.charCodeAt(i) === RBRACE) break;
      const ls = i;
      if (!isLabelChar(t.charCodeAt(i), true)) return;
      i++;
      for (; i < end; i++) {
        const c = t.charCodeAt(i);
        if (!((c >= 97 && c <= 122) || c === 95 || (c >= 65 && c <= 90) || (c >= 48 && c <= 57))) break;
      }
      const ll = i - ls;
      // a label name twice fails the parse of the whole /metrics (and Prometheus' whole scrape)
      if (count === MAX_LABELS || repeated(t, ls, ll, count)) return;
      NAMES[2 * count] = ls;
      NAMES[2 * count + 1] = ll;
      count++;
      // `__name__` does not parse, and `__*` names are Prometheus' own
      if (ll > 1 && t.charCodeAt(ls) === 95 && t.charCodeAt(ls + 1) === 95) return;
      // a histogram's `le` and a summary's `quantile` must be floats, or the parse fails
      let float = false;
      if (ll === 2 && t.startsWith('le', ls)) {
        hasLe = true;
        float = f.type === 'histogram';
      } else if (ll === 8 && t.startsWith('quantile', ls)) {
        hasQuantile = true;
        float = f.type === 'summary';
      } else if ((ll === 7 && t.startsWith('replica', ls)) || (ll === 5 && t.startsWith('model', ls)) || (ll === 6 && t.startsWith('region', ls))) rename = true;
      if (t.charCodeAt(i) !== EQUALS || t.charCodeAt(i + 1) !== QUOTE) return;
      i += 2;
      const vs = i;
      // the value: to its closing quote, escapes checked where there are any
      let q = t.indexOf('"', i);
      for (;;) {
        if (q === -1 || q >= end) return;
        const b = backslashFrom(t, i, st);
        if (b === -1 || b > q) break;
        const n = t.charCodeAt(b + 1);
        if (n !== BACKSLASH && n !== QUOTE && n !== 110) return;
        i = b + 2;
        if (i > q) q = t.indexOf('"', i);
      }
      if (float && !validValue(t, vs, q)) return;
      i = q + 1;
      const sep = t.charCodeAt(i);
      if (sep === COMMA) i++;
      else if (sep !== RBRACE) return;
    }
    i++;
  }
  const rest = i;
  // the value, and an optional integer timestamp
  if (i >= end || (t.charCodeAt(i) !== SPACE && t.charCodeAt(i) !== TAB)) return;
  while (i < end && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
  const v = i;
  while (i < end && t.charCodeAt(i) !== SPACE && t.charCodeAt(i) !== TAB) i++;
  if (!validValue(t, v, i)) return;
  while (i < end && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
  if (i < end) {
    if (t.charCodeAt(i) === 45) i++; // -
    const ts = i;
    while (i < end && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
    if (i === ts) return;
    while (i < end && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
    if (i < end) return;
  }
  // a histogram's buckets need `le`, a summary's quantiles `quantile`
  if (f.type === 'histogram' && !hasLe && t.startsWith('_bucket', start + f.name.length)) return;
  if (f.type === 'summary' && bare && !hasQuantile) return;
  // the line's own text up to where the labels go (`ins`), the added labels, then its own again from `resume`
  let ins = labelsFrom;
  let piece = added.first;
  let resume = labelsFrom;
  if (labelsFrom === -1) {
    ins = resume = nEnd;
    piece = added.braced;
  } else if (rest - 1 === labelsFrom) {
    piece = added.closed;
    resume = rest;
  } else if (rename) {
    const own = renamed(t.slice(labelsFrom, rest - 1));
    if (own === null) return;
    piece = `${added.first}${own}}`;
    resume = rest;
  }
  // the newline is the line's own, or the gateway's after `\r\n` and on the text's last line
  const tail = t.charCodeAt(end) === NL ? t.slice(resume, end + 1) : t.slice(resume, end) + '\n';
  f.parts.push(t.slice(start, ins), piece, tail);
}

/** The most labels a sample may have here; one with more is left out. */
const MAX_LABELS = 64;
/** The label names of the line being read: start and length of each, in pairs (reused, never reallocated). */
const NAMES = new Int32Array(2 * MAX_LABELS);

/** Whether the label name t[ls, ls+ll) is one of the line's first `count`. */
function repeated(t: string, ls: number, ll: number, count: number): boolean {
  for (let k = 0; k < count; k++) {
    if (NAMES[2 * k + 1] !== ll) continue;
    const o = NAMES[2 * k];
    let j = 0;
    while (j < ll && t.charCodeAt(o + j) === t.charCodeAt(ls + j)) j++;
    if (j === ll) return true;
  }
  return false;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * A sample value: `NaN`, `+Inf`, `-Inf`, `Inf`, or a decimal float ([+-] digits [. digits] [e [+-] digits]).
 * Stricter than Go's ParseFloat (no hex, no underscores): what it lets through must parse, or the
 * whole /metrics (every series of the gateway's, in Prometheus' scrape) is lost.
 */
function validValue(t: string, from: number, to: number): boolean {
  const n = to - from;
  if (n === 0) return false;
  if ((n === 3 && (t.startsWith('NaN', from) || t.startsWith('Inf', from))) || (n === 4 && (t.startsWith('+Inf', from) || t.startsWith('-Inf', from)))) return true;
  let i = from;
  const sign = t.charCodeAt(i);
  if (sign === 43 || sign === 45) i++; // + -
  let digits = 0;
  while (i < to && isDigit(t.charCodeAt(i))) { i++; digits++; }
  if (i < to && t.charCodeAt(i) === 46) { // .
    i++;
    while (i < to && isDigit(t.charCodeAt(i))) { i++; digits++; }
  }
  if (digits === 0) return false;
  if (i < to && (t.charCodeAt(i) === 101 || t.charCodeAt(i) === 69)) { // e E
    i++;
    if (i < to && (t.charCodeAt(i) === 43 || t.charCodeAt(i) === 45)) i++;
    const e = i;
    while (i < to && isDigit(t.charCodeAt(i))) i++;
    if (i === e) return false;
  }
  return i === to;
}

/**
 * Labels (well-formed, checked) with the gateway's own names taken to `exported_<name>`; null when
 * that repeats a name the replica set itself (`exported_replica` beside `replica`).
 */
function renamed(labels: string): string | null {
  let out = '';
  let i = 0;
  const names = new Set<string>();
  while (i < labels.length) {
    const eq = labels.indexOf('=', i);
    const own = labels.slice(i, eq);
    const name = (ADDED as readonly string[]).includes(own) ? `exported_${own}` : own;
    if (names.has(name)) return null;
    names.add(name);
    out += name;
    // the value: from the quote after `=` to its closing quote
    let j = eq + 2;
    while (labels.charCodeAt(j) !== QUOTE) j += labels.charCodeAt(j) === BACKSLASH ? 2 : 1;
    j++;
    if (labels.charCodeAt(j) === COMMA) j++;
    out += labels.slice(eq, j);
    i = j;
  }
  // a trailing comma before `}` is allowed by the format; after the added labels it still is
  return out.endsWith(',') ? out.slice(0, -1) : out;
}
