/** The search box's language (src/console/ui/query.js, the same file the browser runs): filters
 *  typed as text become the list's URL parameters, and the parameters read back as that text. */
// eslint-disable-next-line @typescript-eslint/no-var-requires
const query = require('../../src/console/ui/query.js') as {
  parse(text: string): { params: Record<string, string>; errors: string[] };
  format(params: Record<string, string> | URLSearchParams): string;
};

test('fields, free words, quotes, path and method into an endpoint', () => {
  expect(query.parse('user:alice status:4xx path:/orders/* app:shop ip:10.0.0.0/8')).toEqual({
    params: { user: 'alice', status: '4xx', endpoint: '/orders/*', app: 'shop', ip: '10.0.0.0/8' },
    errors: [],
  });
  expect(query.parse('  timeout   User:Mal*  "connection reset" ').params).toEqual({ user: 'Mal*', q: 'timeout connection reset' });
  expect(query.parse('ua:"Mozilla/5.0 (X11; \\"Linux\\")" method:post path:/login').params).toEqual({ ua: 'Mozilla/5.0 (X11; "Linux")', endpoint: 'POST /login' });
  expect(query.parse('method:DELETE').params).toEqual({ endpoint: 'DELETE' });
  expect(query.parse('endpoint:"GET /items/*" request:0a1b2c3d4e5f').params).toEqual({ endpoint: 'GET /items/*', request_id: '0a1b2c3d4e5f' });
  // values may hold colons: times and IPv6 blocks
  expect(query.parse('from:2026-11-23T08:00:00Z to:2026-11-23T09:00 ip:2001:db8::/32').params).toEqual({ from: '2026-11-23T08:00:00Z', to: '2026-11-23T09:00', ip: '2001:db8::/32' });
  expect(query.parse('attack:* follow:links fallback:hide sort:requests').params).toEqual({ attack: '*', follow: 'links', fallback: 'hide', sort: 'requests' });
  expect(query.parse('')).toEqual({ params: {}, errors: [] });
});

test('what it refuses, and says why', () => {
  expect(query.parse('http://example.com/x').errors).toEqual([expect.stringMatching(/^unknown field "http" \(fields: user, role, .*; quote text that holds a colon: "http:\/\/example\.com\/x"\)$/)]);
  expect(query.parse('"http://example.com/x"')).toEqual({ params: { q: 'http://example.com/x' }, errors: [] });
  expect(query.parse('user:a user:b').errors).toEqual(['user: given twice']);
  expect(query.parse('user: alice').errors).toEqual(['user: no value']);
  expect(query.parse('ua:"open').errors).toEqual(['a quote is not closed']);
  expect(query.parse('q:x word').errors).toEqual(['q: given twice (words without a field are the free-text search)']);
  expect(query.parse('endpoint:GET path:/x').errors).toEqual(['endpoint: give it alone, or as method: and path:']);
});

test('the parameters read back as text that parses to them again', () => {
  const cases: Array<Record<string, string>> = [
    { user: 'alice', status: '4xx', endpoint: '/orders/*', app: 'shop', ip: '10.0.0.0/8' },
    { endpoint: 'POST /login', ua: 'Mozilla/5.0 (X11; "Linux")', q: 'timeout connection reset' },
    { q: 'http://x y', request_id: '0a1b2c3d4e5f', endpoint: 'DELETE' },
    { q: 'a  "b"', from: '2026-11-23T08:00:00Z', follow: 'links' },
  ];
  for (const p of cases) expect(query.parse(query.format(p))).toEqual({ params: p, errors: [] });
  expect(query.format(new URLSearchParams('user=alice&endpoint=GET+%2Forders%2F*&q=late'))).toBe('user:alice method:GET path:/orders/* late');
});
