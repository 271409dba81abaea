// Test-only njs module (test/integration/config-cache.test.ts): shows and alters what the
// module keeps in the api_sessions_config shared dictionary. njs >= 0.8 only. The module's notes
// of the configuration errors a worker has written (keys "reported\u0001...") are left out.
function configKeys(d) {
  return d.keys().filter(function (k) { return k.indexOf('reported\u0001') !== 0; });
}

function entries(r) {
  var d = ngx.shared.api_sessions_config;
  var out = [];
  var keys = configKeys(d);
  for (var i = 0; i < keys.length; i++) out.push({ key: keys[i], value: d.get(keys[i]) });
  r.return(200, JSON.stringify(out));
}

// Renames the parameter named by $arg_from to $arg_to in every kept configuration.
function rename(r) {
  var d = ngx.shared.api_sessions_config;
  var keys = configKeys(d);
  for (var i = 0; i < keys.length; i++) {
    var c = JSON.parse(d.get(keys[i]));
    for (var k = 0; k < c.params.length; k++) if (c.params[k].name === r.args.from) c.params[k].name = r.args.to;
    d.set(keys[i], JSON.stringify(c));
  }
  r.return(200, String(keys.length));
}

// Replaces every kept configuration with text that is not one.
function corrupt(r) {
  var d = ngx.shared.api_sessions_config;
  var keys = configKeys(d);
  for (var i = 0; i < keys.length; i++) d.set(keys[i], r.args.with || '{"params":');
  r.return(200, String(keys.length));
}

export default { entries, rename, corrupt };
