// Prototype of the hot path: nothing configured, the built-in set finds `sid` in the Cookie header.
import crypto from 'crypto';
function constant(r) { return '"x":1'; }
var memoKeys = null, memoVals = null;
function hmac(secret, data) {
  return crypto.createHmac('sha256', secret).update(data).digest('hex').slice(0, 32);
}
function safe(s) { return JSON.stringify(s); }
function a(r) {
  try {
    var v = r.variables;
    var f = v.api_sessions_facts.split('\n');
    var params = v.api_sessions_params, extra = v.api_sessions_extra_params;
    var times = f[0], sp = times.indexOf(' ');
    var msec = Number(times.slice(0, sp)), rt = Number(times.slice(sp + 1));
    var host = f[1], uri = f[2], ua = f[3], cookie = f[4], app = f[6] || host, secret = f[9] || 'builtin';
    var q = uri.indexOf('?');
    var path = q < 0 ? uri : uri.slice(0, q);
    var key = null, value = null;
    if (cookie !== '') {
      var m = /(?:^|;)[ \t]*(PHPSESSID|JSESSIONID|ASP\.NET_SessionId|connect\.sid|laravel_session|ci_session|_session_id|sessionid|session|SESSION|sid)[ \t]*=[ \t]*([^;]*)/.exec(cookie);
      if (m !== null) { key = 'request.cookie.' + m[1]; value = m[2]; }
    }
    var source = 'builtin';
    if (key === null) { key = 'ip+ua'; source = 'fallback'; value = '\u0001' + v.remote_addr + '\u001f' + ua; }
    var session = hmac(secret, 's\n' + app + '\n' + value);
    var start = Math.round((msec - rt) * 1000);
    var ts = new Date(start).toISOString();
    var text = JSON.stringify(host + path + ua);
    var plain = text.length === host.length + path.length + ua.length + 2;
    return '"ts":"' + ts + '","app":' + (plain ? '"' + app + '"' : JSON.stringify(app)) + ',"session":"' + session + '","part":"' + ts.slice(0, 10) +
      '","key":"' + key + '","key_source":"' + source + '","host":' + (plain ? '"' + host + '"' : JSON.stringify(host)) +
      ',"path":' + (plain ? '"' + path + '"' : JSON.stringify(path)) + ',"duration_ms":' + Math.round(rt * 1000) +
      ',"ua":' + (plain ? '"' + ua + '"' : JSON.stringify(ua)) + ',"params":{},"user":null,"role":null,"attack":null,"request":null,"errors":[],"links":[]';
  } catch (e) {
    return '"errors":["internal"]';
  }
}
function stagedA(r, stage) {
  try {
    var v = r.variables;
    var f = v.api_sessions_facts.split('\n');
    if (stage === 1) return '"x":1';
    var params = v.api_sessions_params, extra = v.api_sessions_extra_params;
    var times = f[0], sp = times.indexOf(' ');
    var msec = Number(times.slice(0, sp)), rt = Number(times.slice(sp + 1));
    var host = f[1], uri = f[2], ua = f[3], cookie = f[4], app = f[6] || host, secret = f[9] || 'builtin';
    if (stage === 2) return '"x":1';
    var q = uri.indexOf('?');
    var path = q < 0 ? uri : uri.slice(0, q);
    var key = null, value = null;
    if (cookie !== '') {
      var m = /(?:^|;)[ \t]*(PHPSESSID|JSESSIONID|ASP\.NET_SessionId|connect\.sid|laravel_session|ci_session|_session_id|sessionid|session|SESSION|sid)[ \t]*=[ \t]*([^;]*)/.exec(cookie);
      if (m !== null) { key = 'request.cookie.' + m[1]; value = m[2]; }
    }
    if (stage === 3) return '"x":1';
    var source = 'builtin';
    if (key === null) { key = 'ip+ua'; source = 'fallback'; value = '\u0001' + v.remote_addr + '\u001f' + ua; }
    var session = hmac(secret, 's\n' + app + '\n' + value);
    if (stage === 4) return '"x":1';
    var start = Math.round((msec - rt) * 1000);
    var ts = new Date(start).toISOString();
    if (stage === 5) return '"x":1';
    var text = JSON.stringify(host + path + ua);
    var plain = text.length === host.length + path.length + ua.length + 2;
    if (stage === 6) return '"x":1';
    return '"ts":"' + ts + '","app":' + (plain ? '"' + app + '"' : JSON.stringify(app)) + ',"session":"' + session + '","part":"' + ts.slice(0, 10) +
      '","key":"' + key + '","key_source":"' + source + '","host":' + (plain ? '"' + host + '"' : JSON.stringify(host)) +
      ',"path":' + (plain ? '"' + path + '"' : JSON.stringify(path)) + ',"duration_ms":' + Math.round(rt * 1000) +
      ',"ua":' + (plain ? '"' + ua + '"' : JSON.stringify(ua)) + ',"params":{},"user":null,"role":null,"attack":null,"request":null,"errors":[],"links":[]';
  } catch (e) {
    return '"errors":["internal"]';
  }
}
function s1(r) { return stagedA(r, 1); }
function s2(r) { return stagedA(r, 2); }
function s3(r) { return stagedA(r, 3); }
function s4(r) { return stagedA(r, 4); }
function s5(r) { return stagedA(r, 5); }
function s6(r) { return stagedA(r, 6); }
export default { constant, a, s1, s2, s3, s4, s5, s6 };
