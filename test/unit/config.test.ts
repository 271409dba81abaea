/** Configuration (src/njs/config.ts, and the entries' grammar src/shared/params.ts): entries,
 *  flags, limits and the errors of bad entries. */
import { buildConfig, configKey, isConfig, DEFAULT_MAX_BODY, DEFAULT_MAX_VALUE, DEFAULT_MAX_ATTACK_BODY } from '../../src/njs/config';
import { parseEntry, parseParams, readsResponse, Param } from '../../src/shared/params';

/** The grouping keys of a configuration, in their order: its params marked `group`. */
function groupsOf(c: { params: Param[] }): Param[] {
  return c.params.filter((p) => p.group);
}

function names(params: Param[]): string[] {
  return params.map((p) => p.name);
}

describe('parseEntry', () => {
  test('a bare selector: its text is the name, no flags', () => {
    const p = parseEntry('request.cookie.uid', false);
    expect(p).toEqual({
      name: 'request.cookie.uid',
      selectors: [{ text: 'request.cookie.uid', source: 'request.cookie', name: 'uid', path: [], jwt: null }],
      group: false,
      user: false,
      role: false,
      hash: false,
      extra: false,
    });
  });

  test('all flags and as NAME', () => {
    const p = parseEntry('request.header.X-User group user hash as who', true);
    expect(p.name).toBe('who');
    expect([p.group, p.user, p.role, p.hash, p.extra]).toEqual([true, true, false, true, true]);
    expect(p.selectors[0].name).toBe('x-user');
  });

  test('role flag', () => {
    const p = parseEntry('request.header.authorization.jwt.role role', false);
    expect(p.role).toBe(true);
    expect(p.user).toBe(false);
    expect(p.name).toBe('request.header.authorization.jwt.role');
  });

  test('the default name of a header selector is lowercased', () => {
    expect(parseEntry('request.header.X-Tenant', false).name).toBe('request.header.x-tenant');
  });

  test('several spaces between tokens', () => {
    const p = parseEntry('request.query.a   group    as   qa', false);
    expect(p.name).toBe('qa');
    expect(p.group).toBe(true);
  });

  test('combined key: up to 3 selectors with "+" and group; name joins the texts', () => {
    const p = parseEntry('request.header.X-Tenant+request.cookie.uid group', false);
    expect(p.selectors.map((s) => s.text)).toEqual(['request.header.x-tenant', 'request.cookie.uid']);
    expect(p.name).toBe('request.header.x-tenant+request.cookie.uid');
    expect(p.group).toBe(true);
    const three = parseEntry('request.query.a+request.query.b+request.query.c group as abc', false);
    expect(three.selectors.length).toBe(3);
    expect(three.name).toBe('abc');
  });

  test.each([
    ['request.query.a+request.query.b+request.query.c+request.query.d group', 'at most 3 selectors can be combined'],
    ['request.query.a+request.query.b', 'add "group"'],
    ['request.query.a+request.query.b group user', 'cannot name the user or role'],
    ['request.query.a user role', 'not both'],
    ['request.query.a as', '"as" needs a name'],
    ['request.query.a grup', 'unknown flag "grup"'],
    ['request.qurey.a group', 'unknown selector "request.qurey.a"'],
    ['request.query.a+request.nope.b group', 'unknown selector "request.nope.b"'],
  ])('%s is refused', (entry, message) => {
    expect(() => parseEntry(entry, false)).toThrow(message);
  });
});

describe('quoted JSON properties with spaces, "+" and ";" inside', () => {
  test('a quoted property with a space is one selector, flags after it still apply', () => {
    const p = parseEntry('request.body.json["first name"] group as fn', false);
    expect(p.selectors[0].path).toEqual(['first name']);
    expect(p.group).toBe(true);
    expect(p.name).toBe('fn');
  });

  test('the default name of such an entry is its selector text', () => {
    const p = parseEntry('request.body.json.user["display name"]', false);
    expect(p.name).toBe('request.body.json.user["display name"]');
    expect(p.selectors[0].path).toEqual(['user', 'display name']);
  });

  test('"+" and ";" inside quotes do not split', () => {
    const c = buildConfig({ params: 'request.body.json["a+b"]+request.query.c group; request.body.json["x;y"] as xy' });
    expect(c.errors).toEqual([]);
    expect(c.params.map((p) => p.name)).toEqual(['request.body.json["a+b"]+request.query.c', 'xy']);
    expect(c.params[0].selectors.map((s) => s.path)).toEqual([['a+b'], []]);
    expect(c.params[1].selectors[0].path).toEqual(['x;y']);
  });
});

describe('buildConfig', () => {
  test('unset: no params, default limits, no errors', () => {
    const c = buildConfig({});
    expect(c.params).toEqual([]);
    expect(groupsOf(c)).toEqual([]);
    expect(c.needs).toEqual({ requestBody: false, responseBody: false });
    expect(c.limits).toEqual({ maxBody: DEFAULT_MAX_BODY, maxValue: DEFAULT_MAX_VALUE, maxAttackBody: DEFAULT_MAX_ATTACK_BODY });
    expect(c.errors).toEqual([]);
  });

  test('entries in order, groups in their order, newlines/tabs/CRLF and empty entries allowed', () => {
    const c = buildConfig({
      params: 'request.query.a;\n  request.cookie.b group ;\r\n\trequest.header.c\tgroup as hc;;  ; request.body.json.user.id user',
    });
    expect(c.errors).toEqual([]);
    expect(names(c.params)).toEqual(['request.query.a', 'request.cookie.b', 'hc', 'request.body.json.user.id']);
    expect(names(groupsOf(c))).toEqual(['request.cookie.b', 'hc']);
    expect(c.needs).toEqual({ requestBody: true, responseBody: false });
  });

  test('extra params come after the params, count separately, and are marked extra', () => {
    const params = Array.from({ length: 20 }, (_, i) => 'request.query.p' + i).join(';');
    const c = buildConfig({ params, extraParams: 'request.query.object_id group; response.body.json.id' });
    expect(c.errors).toEqual([]);
    expect(c.params.length).toBe(22);
    expect(c.params[20]).toMatchObject({ name: 'request.query.object_id', extra: true, group: true });
    expect(c.params[0].extra).toBe(false);
    expect(names(groupsOf(c))).toEqual(['request.query.object_id']);
    expect(c.needs).toEqual({ requestBody: false, responseBody: true });
  });

  test('needs: form bodies need the request body; response headers need no body', () => {
    expect(buildConfig({ params: 'request.body.form.u' }).needs).toEqual({ requestBody: true, responseBody: false });
    expect(buildConfig({ params: 'response.header.x; response.cookie.y' }).needs).toEqual({ requestBody: false, responseBody: false });
    expect(buildConfig({ params: 'request.query.a+response.body.json.b group' }).needs).toEqual({ requestBody: false, responseBody: true });
  });

  test('every bad entry gives an error naming the variable, entry number and text; valid entries still apply', () => {
    const c = buildConfig({
      params: [
        'request.query.ok1', // 1
        'request.nope.x', // 2 unknown selector
        'request.query.b grp', // 3 unknown flag
        'request.query.c as', // 4 as without name
        'request.query.a+request.query.b+request.query.c+request.query.d group', // 5 > 3 combined
        'request.query.a+request.query.b', // 6 combined without group
        'request.query.ok1', // 7 duplicate name
        'request.cookie.ok2 group', // 8
      ].join('; '),
    });
    expect(names(c.params)).toEqual(['request.query.ok1', 'request.cookie.ok2']);
    expect(names(groupsOf(c))).toEqual(['request.cookie.ok2']);
    expect(c.errors.length).toBe(6);
    expect(c.errors[0]).toMatch(/^\$api_sessions_params entry 2 "request\.nope\.x": unknown selector "request\.nope\.x"/);
    expect(c.errors[1]).toBe(
      '$api_sessions_params entry 3 "request.query.b grp": unknown flag "grp" (expected group, user, role, hash or as NAME)',
    );
    expect(c.errors[2]).toBe('$api_sessions_params entry 4 "request.query.c as": "as" needs a name');
    expect(c.errors[3]).toBe(
      '$api_sessions_params entry 5 "request.query.a+request.query.b+request.query.c+request.query.d group": at most 3 selectors can be combined with "+"',
    );
    expect(c.errors[4]).toBe(
      '$api_sessions_params entry 6 "request.query.a+request.query.b": selectors combined with "+" form a grouping key: add "group"',
    );
    expect(c.errors[5]).toBe(
      '$api_sessions_params entry 7 "request.query.ok1": the name "request.query.ok1" is used by an earlier entry',
    );
  });

  test('duplicate names through "as" and across params and extra params', () => {
    const c = buildConfig({
      params: 'request.query.a as x; request.cookie.b as x',
      extraParams: 'request.header.c as x; request.header.d',
    });
    expect(names(c.params)).toEqual(['x', 'request.header.d']);
    expect(c.errors).toEqual([
      '$api_sessions_params entry 2 "request.cookie.b as x": the name "x" is used by an earlier entry',
      '$api_sessions_extra_params entry 1 "request.header.c as x": the name "x" is used by an earlier entry',
    ]);
  });

  test('more than 20 entries: the first 20 apply, each further one is an error', () => {
    const entries: string[] = [];
    for (let i = 1; i <= 23; i++) entries.push('request.query.q' + i);
    const c = buildConfig({ params: entries.join(';') });
    expect(c.params.length).toBe(20);
    expect(c.params[19].name).toBe('request.query.q20');
    expect(c.errors).toEqual([
      '$api_sessions_params entry 21 "request.query.q21": more than 20 entries, ignored',
      '$api_sessions_params entry 22 "request.query.q22": more than 20 entries, ignored',
      '$api_sessions_params entry 23 "request.query.q23": more than 20 entries, ignored',
    ]);
  });

  test('invalid entries count toward the 20 (entry numbers are positions)', () => {
    const entries: string[] = ['bad.selector.x'];
    for (let i = 2; i <= 21; i++) entries.push('request.query.q' + i);
    const c = buildConfig({ params: entries.join(';') });
    expect(c.params.length).toBe(19);
    expect(c.errors.length).toBe(2);
    expect(c.errors[0]).toMatch(/^\$api_sessions_params entry 1 "bad\.selector\.x": unknown selector/);
    expect(c.errors[1]).toBe('$api_sessions_params entry 21 "request.query.q21": more than 20 entries, ignored');
  });

  test('more than 20 extra params', () => {
    const entries: string[] = [];
    for (let i = 1; i <= 21; i++) entries.push('request.query.x' + i);
    const c = buildConfig({ extraParams: entries.join(';') });
    expect(c.params.length).toBe(20);
    expect(c.errors).toEqual(['$api_sessions_extra_params entry 21 "request.query.x21": more than 20 entries, ignored']);
  });

  test('"as __proto__" or "as constructor" are ordinary names and unique like others', () => {
    const c = buildConfig({ params: 'request.query.a as constructor; request.query.b as __proto__; request.query.c as __proto__' });
    expect(names(c.params)).toEqual(['constructor', '__proto__']);
    expect(c.errors).toEqual([
      '$api_sessions_params entry 3 "request.query.c as __proto__": the name "__proto__" is used by an earlier entry',
    ]);
  });

  describe('limits', () => {
    test('numbers, k and m suffixes', () => {
      const c = buildConfig({ maxBody: '128k', maxValue: '200', maxAttackBody: '1m' });
      expect(c.limits).toEqual({ maxBody: 131072, maxValue: 200, maxAttackBody: 1048576 });
      expect(c.errors).toEqual([]);
      expect(buildConfig({ maxBody: '16m' }).limits.maxBody).toBe(16777216);
      expect(buildConfig({ maxBody: '0' }).limits.maxBody).toBe(0);
    });

    test.each(['abc', '-1', '1.5', '17m', 'k', ' ', '10x', '1.5.k'])('%s falls back to the default with an error', (text) => {
      const c = buildConfig({ maxValue: text });
      expect(c.limits.maxValue).toBe(DEFAULT_MAX_VALUE);
      expect(c.errors).toEqual(['$api_sessions_max_value "' + text + '" is not a size from 0 to 16m; using ' + DEFAULT_MAX_VALUE]);
    });
  });

  test('the same input gives an equal configuration', () => {
    const a = buildConfig({ params: 'request.query.a group' });
    buildConfig({ params: 'request.query.b' });
    const b = buildConfig({ params: 'request.query.a group' });
    expect(b).toEqual(a);
    expect(names(b.params)).toEqual(['request.query.a']);
  });
});

describe('parseParams', () => {
  test('appends to out and shares seen names', () => {
    const out: Param[] = [];
    const seen: { [name: string]: boolean } = {};
    const errors: string[] = [];
    parseParams('request.query.a; request.query.b as n', 'v1', false, 5, out, seen, errors);
    parseParams('request.query.c as n', 'v2', true, 5, out, seen, errors);
    expect(names(out)).toEqual(['request.query.a', 'n']);
    expect(errors).toEqual(['$v2 entry 1 "request.query.c as n": the name "n" is used by an earlier entry']);
  });
});

test('readsResponse', () => {
  expect(readsResponse(parseEntry('request.query.a', false))).toBe(false);
  expect(readsResponse(parseEntry('response.cookie.a', false))).toBe(true);
  expect(readsResponse(parseEntry('request.query.a+response.header.b group', false))).toBe(true);
});

test('a configuration through JSON (the shared-dictionary cache) is the same configuration', () => {
  const raw = {
    params: `request.header.authorization.jwt.sub user;
      request.cookie.sid+request.header.user-agent group;
      request.body.json.cart["odd.name"][2].sku as sku hash;
      response.body.json.token group; bogus entry`,
    extraParams: 'request.query.id as object_id',
    maxBody: '8k',
    maxValue: 'nonsense',
  };
  const cfg = buildConfig(raw);
  const back: unknown = JSON.parse(JSON.stringify(cfg));
  expect(isConfig(back)).toBe(true);
  expect(back).toEqual(cfg);
  expect(names(groupsOf(back as typeof cfg))).toEqual(['request.cookie.sid+request.header.user-agent', 'response.body.json.token']);
  expect((back as typeof cfg).errors).toHaveLength(2);
  for (const bad of [null, 3, [], {}, { params: [], errors: [], needs: null, limits: {} }, { params: {}, errors: [], needs: {}, limits: {} }]) {
    expect(isConfig(bad)).toBe(false);
  }
  // The key tells every variable apart, empty and unset alike.
  expect(configKey({ params: 'a', extraParams: '' })).not.toBe(configKey({ params: '', extraParams: 'a' }));
  expect(configKey({ params: 'a' })).toBe(configKey({ params: 'a', extraParams: '', maxBody: '' }));
});
