/**
 * application/x-www-form-urlencoded: the query string and form bodies. Pairs are split once;
 * a value is decoded only when a selector reads it.
 */
export interface Form {
  /** '=' + decoded name -> raw (still encoded) value of its first occurrence. */
  raw: { [prefixedName: string]: string };
  repeated: string[];
  cut: boolean;
}

export const MAX_FORM_PARAMS = 256;

export function decodeComponent(s: string): string {
  if (s.indexOf('+') >= 0) s = s.split('+').join(' ');
  return s.indexOf('%') >= 0 ? decodeURIComponent(s) : s;
}

export function parseForm(text: string): Form {
  const form: Form = { raw: {}, repeated: [], cut: false };
  if (text === '') return form;
  const pairs = text.split('&');
  let n = 0;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (pair === '') continue;
    if (++n > MAX_FORM_PARAMS) {
      form.cut = true;
      break;
    }
    const eq = pair.indexOf('=');
    let name = eq < 0 ? pair : pair.slice(0, eq);
    try {
      name = decodeComponent(name);
    } catch (e) {
      continue; // a name that does not decode cannot match a configured one
    }
    const key = '=' + name;
    if (form.raw[key] !== undefined) form.repeated.push(name);
    else form.raw[key] = eq < 0 ? '' : pair.slice(eq + 1);
  }
  return form;
}

/** The decoded value, undefined when absent; throws URIError on invalid percent-encoding. */
export function formValue(form: Form, name: string): string | undefined {
  const raw = form.raw['=' + name];
  return raw === undefined ? undefined : decodeComponent(raw);
}
