/**
 * Redaction by meaning (src/njs/redact.ts) and the record line's UTF-8 guard (record.ts).
 */
import crypto from 'crypto';
import { redactor, RedactNames } from '../../src/njs/redact';
import { requestContent, validJson, INVALID_UTF8 } from '../../src/njs/record';

const SECRET = 'unit-secret';
const hmac = (v: string) => '[hmac:' + crypto.createHmac('sha256', SECRET).update('v\n' + v).digest('hex').slice(0, 32) + ']';
const NONE: RedactNames = { cookies: [], headers: [], fields: [] };
const { redactValues, cutClean, redactBodyByName, redactHeaderByName, redactQueryPairs } = redactor();

describe('by value, in every spelling', () => {
  const token = 'pä/ss wörd+Zz';
  const spellings = [
    'pä/ss wörd+Zz', // as is
    'p\\u00e4\\/ss w\\u00f6rd+Zz', // JSON escapes
    'p\\u00E4/ss w\\u00F6rd+Zz', // upper-case \u hex
    'p%C3%A4%2Fss%20w%C3%B6rd%2BZz', // encodeURIComponent
    'p%c3%a4%2fss+w%c3%b6rd%2bZz', // lower case, + for the space
    'p%C3%A4/ss%20w%C3%B6rd%2BZz', // partly encoded
  ];
  test.each(spellings)('%s', (spelling) => {
    expect(redactValues('a=' + spelling + '&b=1', [token], SECRET)).toBe('a=' + hmac(token) + '&b=1');
  });

  test('a JSON string with escaped quote and backslash', () => {
    expect(redactValues('{"x":"pa\\"ss\\\\w\\u00f6rd"}', ['pa"ss\\wörd'], SECRET)).toBe('{"x":"' + hmac('pa"ss\\wörd') + '"}');
  });

  test('every occurrence, and other text untouched', () => {
    expect(redactValues('tok%2Fen tok/en x tok\\/en', ['tok/en'], SECRET)).toBe([hmac('tok/en'), hmac('tok/en'), 'x', hmac('tok/en')].join(' '));
    expect(redactValues("q=%27%20OR%201%3D1--", ['tok/en'], SECRET)).toBe("q=%27%20OR%201%3D1--");
  });

  test('values shorter than 4 are not searched (they would shred the text)', () => {
    expect(redactValues('id=abc', ['abc'], SECRET)).toBe('id=abc');
  });

  test('invalid percent sequences do not stop the search', () => {
    expect(redactValues('%ZZ%FF%C3 secret%2Dvalue', ['secret-value'], SECRET)).toBe('%ZZ%FF%C3 ' + hmac('secret-value'));
  });
});

describe('a cut leaves no start of a secret in any spelling', () => {
  test.each([
    ['x=p\\u00e4ssw', 'x='],
    ['x=p%C3%A4ssw', 'x='],
    ['x=p%C3%A', 'x='], // the cut went through an escape
    ['x=p\\u00', 'x='],
    ['x=pässw', 'x='],
  ])('%s', (text, kept) => {
    expect(cutClean(text + 'TAIL', text.length, ['pässwörd'])).toBe(kept);
  });
  test('a cut that meets no secret keeps the whole limit', () => {
    expect(cutClean('abcdefgh', 5, ['pässwörd'])).toBe('abcde');
  });
});

describe('by name, whatever the length', () => {
  test('JSON properties: credential names and configured names, at any depth, in a cut body', () => {
    const names: RedactNames = { cookies: [], headers: [], fields: ['pin'] };
    const body = '{"user":"bob","auth":{"password":"pw1","apiKey":7,"pin":"12"},"q":"\' OR 1=1--","refresh_token":"ab';
    expect(redactBodyByName(body, names, SECRET)).toBe(
      '{"user":"bob","auth":{"password":"' + hmac('pw1') + '","apiKey":"' + hmac('7') + '","pin":"' + hmac('12') + '"},"q":"\' OR 1=1--","refresh_token":"' + hmac('ab') + '"',
    );
  });

  test('form fields, decoded before hashing', () => {
    expect(redactBodyByName('a=1&password=my+secret+pass%21&client_secret=x', NONE, SECRET)).toBe(
      'a=1&password=' + hmac('my secret pass!') + '&client_secret=' + hmac('x'),
    );
  });

  test('multipart fields', () => {
    const body = '--b\r\nContent-Disposition: form-data; name="password"\r\n\r\npw\r\n--b\r\nContent-Disposition: form-data; name="q"\r\n\r\n<svg>\r\n--b--';
    expect(redactBodyByName(body, NONE, SECRET)).toBe(body.replace('\r\n\r\npw\r\n', '\r\n\r\n' + hmac('pw') + '\r\n'));
  });

  test('query pairs: *token*, *key*, *secret*, password; a URL inside JSON', () => {
    expect(redactQueryPairs('GET /a?api_key=k&x=1&access_token=t&client_secret=s&password=p&q=1 HTTP/1.1', NONE, SECRET)).toBe(
      'GET /a?api_key=' + hmac('k') + '&x=1&access_token=' + hmac('t') + '&client_secret=' + hmac('s') + '&password=' + hmac('p') + '&q=1 HTTP/1.1',
    );
    expect(redactBodyByName('{"next":"https://x/cb?token=abc&y=2"}', NONE, SECRET)).toBe('{"next":"https://x/cb?token=' + hmac('abc') + '&y=2"}');
  });

  test('headers of the credential kind; the Authorization scheme stays', () => {
    expect(redactHeaderByName('x-csrf-token', 'c1', NONE, SECRET)).toBe(hmac('c1'));
    expect(redactHeaderByName('x-amz-security-token', 'a', NONE, SECRET)).toBe(hmac('a'));
    expect(redactHeaderByName('x-forwarded-authorization', 'Bearer f', NONE, SECRET)).toBe('Bearer ' + hmac('f'));
    expect(redactHeaderByName('x-tenant', 'acme', { cookies: [], headers: ['x-tenant'], fields: [] }, SECRET)).toBe(hmac('acme'));
    expect(redactHeaderByName('user-agent', "sqlmap' OR 1=1", NONE, SECRET)).toBe("sqlmap' OR 1=1");
    expect(redactHeaderByName('referer', 'https://a/?token=x&q=1', NONE, SECRET)).toBe('https://a/?token=' + hmac('x') + '&q=1');
  });

  test('cookies: built-in, configured and credential names whatever their length', () => {
    const names: RedactNames = { cookies: ['uid'], headers: [], fields: [] };
    expect(redactHeaderByName('cookie', 'PHPSESSID=abc123; JSESSIONID=j7; sid=Zz9; uid=1; theme=dark; xss=<b>', names, SECRET)).toBe(
      'PHPSESSID=' + hmac('abc123') + '; JSESSIONID=' + hmac('j7') + '; sid=' + hmac('Zz9') + '; uid=' + hmac('1') + '; theme=dark; xss=<b>',
    );
  });

  test('cookies read as applications read them: a re-spelled name or a quoted value is hidden like the plain one', () => {
    const names: RedactNames = { cookies: ['uid'], headers: [], fields: [] };
    // %-encoded names, spaces around '=', a quoted value: the same cookies to express, PHP, Tomcat
    expect(redactHeaderByName('cookie', '%73id=Zz9; u%69d =1; PHPSESSID= "abc123"; tracker="abcdefghij"; theme=dark', names, SECRET)).toBe(
      '%73id=' + hmac('Zz9') + '; u%69d =' + hmac('1') + '; PHPSESSID=' + hmac('abc123') + '; tracker=' + hmac('abcdefghij') + '; theme=dark',
    );
    // an encoded value is hidden under the hash of the value the application reads
    expect(redactHeaderByName('cookie', 'connect.sid=s%3Aabc.def', NONE, SECRET)).toBe('connect.sid=' + hmac('s:abc.def'));
  });
});

describe('valid UTF-8', () => {
  test('requestContent replaces what is not well-formed and says so in errors', () => {
    const errors: string[] = [];
    const c = requestContent({ line: 'GET / HTTP/1.1', headers: [['User-Agent', 'a\ud800b']], body: 'x\udc00' }, [], SECRET, 100, NONE, errors);
    expect(c.headers).toEqual([['User-Agent', 'a\ufffdb']]);
    expect(c.body).toBe('x\ufffd');
    expect(errors).toEqual([INVALID_UTF8]);
  });

  test('valid JSON text is returned as JSON.stringify made it, with nothing replaced', () => {
    const bad: boolean[] = [];
    const rec = { ua: 'Müller ☃ 😀', errors: [] as string[] };
    expect(validJson(JSON.stringify(rec), bad)).toBe(JSON.stringify(rec));
    const ascii = { ua: 'curl/8', errors: [] as string[] };
    expect(validJson(JSON.stringify(ascii), bad)).toBe(JSON.stringify(ascii));
    expect(bad).toEqual([]);
  });
});
