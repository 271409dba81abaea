/**
 * The configuration as `nginx -T` prints it, read back into directives that know their file and
 * line: the dump is split at its `# configuration file PATH:` headers, each file is tokenized as
 * nginx's own reader does (quotes, backslash escapes, `#` comments, `${var}`), and every `include`
 * is expanded in place from the dumped files, in the order nginx read them.
 */

export interface ConfigFile {
  path: string;
  text: string;
}

export interface Directive {
  name: string;
  args: string[];
  /** The line where each argument starts (a quoted value may span lines). */
  argLines: number[];
  file: string;
  line: number;
  /** The directives of its `{ ... }` block, if it has one. */
  block?: Directive[];
  /** `include`: the directives of the files it names, in nginx's order. */
  included?: Directive[];
  /** `include`: the files it names. */
  files?: string[];
}

/** The configuration cannot be read: not a dump, or a file nginx would have refused. */
export class ReadError extends Error {}

const HEADER = /^# configuration file (.+):$/;

/** The files of an `nginx -T` output, the main one first. Lines before the first header (nginx's
 *  "syntax is ok" when stderr was captured too) are not part of any file. */
export function splitDump(dump: string): ConfigFile[] {
  const files: ConfigFile[] = [];
  let current: { path: string; lines: string[] } | null = null;
  const close = () => {
    if (current) files.push({ path: current.path, text: current.lines.join('\n') });
  };
  for (const line of dump.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      close();
      current = { path: header[1], lines: [] };
    } else if (current) current.lines.push(line);
  }
  close();
  // nginx ends each file with a newline of its own: the one before the next header is taken by
  // the split, the last file's is here.
  if (files.length > 0) files[files.length - 1].text = files[files.length - 1].text.replace(/\n$/, '');
  if (files.length === 0) throw new ReadError('no "# configuration file" header: this is not the output of nginx -T');
  return files;
}

/** The directives of one file, blocks nested, includes not yet expanded. */
export function parseFile(file: ConfigFile): Directive[] {
  const { text, path } = file;
  const top: Directive[] = [];
  const stack: Directive[][] = [top];
  const opened: Directive[] = [];
  let words: string[] = [];
  let wordLines: number[] = [];
  let line = 1;
  let i = 0;
  const fail = (why: string): never => {
    throw new ReadError(`${path}:${line}: ${why}`);
  };
  const statement = (): Directive => {
    if (words.length === 0) fail('unexpected ";" or "{"');
    const d: Directive = { name: words[0], args: words.slice(1), argLines: wordLines.slice(1), file: path, line: wordLines[0] };
    stack[stack.length - 1].push(d);
    words = [];
    wordLines = [];
    return d;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === ';') {
      statement();
      i++;
    } else if (c === '{') {
      const d = statement();
      d.block = [];
      stack.push(d.block);
      opened.push(d);
      i++;
    } else if (c === '}') {
      if (words.length > 0) fail('unexpected "}"');
      if (opened.length === 0) fail('unexpected "}"');
      stack.pop();
      opened.pop();
      i++;
    } else {
      wordLines.push(line);
      const raw = readWord(text, i, fail);
      for (let k = i; k < raw.end; k++) if (text[k] === '\n') line++;
      words.push(raw.word);
      i = raw.end;
    }
  }
  if (words.length > 0) fail('unexpected end of file, expecting ";" or "}"');
  if (opened.length > 0) fail('unexpected end of file, expecting "}"');
  return top;
}

/** One word from `start`: quoted or bare, with nginx's escapes (\" \' \\ \t \r \n) applied. */
function readWord(text: string, start: number, fail: (why: string) => never): { word: string; end: number } {
  const quote = text[start] === '"' || text[start] === "'" ? text[start] : null;
  let i = quote ? start + 1 : start;
  let word = '';
  let variable = false;
  for (;;) {
    if (i >= text.length) {
      if (quote) fail('unexpected end of file in a quoted string');
      return { word, end: i };
    }
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      const n = text[i + 1];
      word += n === 't' ? '\t' : n === 'r' ? '\r' : n === 'n' ? '\n' : n === '"' || n === "'" || n === '\\' ? n : c + n;
      i += 2;
      variable = false;
      continue;
    }
    if (quote) {
      if (c === quote) return { word, end: i + 1 };
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === ';' || (c === '{' && !variable)) {
      return { word, end: i };
    }
    variable = c === '$';
    word += c;
    i++;
  }
}

/** glob(3) as nginx's include uses it: `*`, `?` and `[...]` within one path segment. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[' && pattern.indexOf(']', i + 2) > 0) {
      const end = pattern.indexOf(']', i + 2);
      const set = pattern.slice(i + 1, end);
      re += '[' + (set[0] === '!' ? '^' + set.slice(1) : set).replace(/\\/g, '\\\\') + ']';
      i = end;
    } else re += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

/**
 * The main file's directives with every `include` expanded from the dumped files. A relative
 * include is read against the main file's folder (nginx's configuration prefix), and a pattern
 * takes the matching files in name order, as nginx does.
 */
export function readDump(dump: string): Directive[] {
  const files = splitDump(dump);
  const byPath = new Map(files.map((f) => [f.path, f]));
  const main = files[0].path;
  const prefix = main.slice(0, main.lastIndexOf('/') + 1);
  const parsed = new Map<string, Directive[]>();
  const parse = (path: string): Directive[] => {
    let ds = parsed.get(path);
    if (!ds) parsed.set(path, (ds = parseFile(byPath.get(path)!)));
    return ds;
  };
  const expand = (list: Directive[], depth: number): Directive[] =>
    list.map((d) => {
      const out: Directive = { ...d };
      if (d.block) out.block = expand(d.block, depth);
      if (d.name === 'include' && d.args.length === 1) {
        if (depth > 32) throw new ReadError(`${d.file}:${d.line}: includes nested more than 32 deep`);
        const full = d.args[0].startsWith('/') ? d.args[0] : prefix + d.args[0];
        const pattern = globToRegExp(full);
        out.files = files.map((f) => f.path).filter((p) => pattern.test(p)).sort();
        out.included = [];
        for (const f of out.files) out.included.push(...expand(parse(f), depth + 1));
      }
      return out;
    });
  return expand(parse(main), 0);
}
