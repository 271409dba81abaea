// Prototype B: nginx writes the facts (status, method, ip, host, path, ua, app via maps), JS the session.
import crypto from 'crypto';
function hmac(secret, data) {
  return crypto.createHmac('sha256', secret).update(data).digest('hex').slice(0, 32);
}
function text(r) { return JSON.stringify('x'); }
function b(r) {
  try {
    var v = r.variables;
    var facts = v.api_sessions_facts; // "msec request_time flags app"
    var s1 = facts.indexOf(' '), s2 = facts.indexOf(' ', s1 + 1), s3 = facts.indexOf(' ', s2 + 1);
    var msec = Number(facts.slice(0, s1)), rt = Number(facts.slice(s1 + 1, s2));
    var flags = facts.slice(s2 + 1, s3), app = facts.slice(s3 + 1);
    var secret = v.api_sessions_secret || 'builtin';
    var key = null, value = null, source = 'builtin';
    if (flags.indexOf('k') >= 0) {
      var cookie = r.headersIn.Cookie;
      var m = /(?:^|;)[ \t]*(PHPSESSID|JSESSIONID|ASP\.NET_SessionId|connect\.sid|laravel_session|ci_session|_session_id|sessionid|session|SESSION|sid)[ \t]*=[ \t]*([^;]*)/.exec(cookie);
      if (m !== null) { key = 'request.cookie.' + m[1]; value = m[2]; }
    }
    if (key === null) { key = 'ip+ua'; source = 'fallback'; value = '\u0001' + v.remote_addr + '\u001f' + r.headersIn['User-Agent']; }
    var session = hmac(secret, 's\n' + app + '\n' + value);
    var ts = new Date(Math.round((msec - rt) * 1000)).toISOString();
    return '"ts":"' + ts + '","session":"' + session + '","part":"' + ts.slice(0, 10) + '","key":"' + key + '","key_source":"' + source +
      '","duration_ms":' + Math.round(rt * 1000) + ',"params":{},"user":null,"role":null,"attack":null,"request":null,"errors":[],"links":[]';
  } catch (e) {
    return '"errors":["internal"]';
  }
}
function stagedB(r, stage) {
  try {
    var v = r.variables;
    var facts = v.api_sessions_facts; // "msec request_time flags app"
    var s1 = facts.indexOf(' '), s2 = facts.indexOf(' ', s1 + 1), s3 = facts.indexOf(' ', s2 + 1);
    var msec = Number(facts.slice(0, s1)), rt = Number(facts.slice(s1 + 1, s2));
    var flags = facts.slice(s2 + 1, s3), app = facts.slice(s3 + 1);
    if (stage === 1) return '"x":1';
    var secret = v.api_sessions_secret || 'builtin';
    if (stage === 2) return '"x":1';
    var key = null, value = null, source = 'builtin';
    if (flags.indexOf('k') >= 0) {
      var cookie = r.headersIn.Cookie;
      var m = /(?:^|;)[ \t]*(PHPSESSID|JSESSIONID|ASP\.NET_SessionId|connect\.sid|laravel_session|ci_session|_session_id|sessionid|session|SESSION|sid)[ \t]*=[ \t]*([^;]*)/.exec(cookie);
      if (m !== null) { key = 'request.cookie.' + m[1]; value = m[2]; }
    }
    if (stage === 3) return '"x":1';
    if (key === null) { key = 'ip+ua'; source = 'fallback'; value = '\u0001' + v.remote_addr + '\u001f' + r.headersIn['User-Agent']; }
    if (stage === 4) return '"x":1';
    var session = hmac(secret, 's\n' + app + '\n' + value);
    if (stage === 5) return '"x":1';
    var ts = new Date(Math.round((msec - rt) * 1000)).toISOString();
    if (stage === 6) return '"x":1';
    return '"ts":"' + ts + '","session":"' + session + '","part":"' + ts.slice(0, 10) + '","key":"' + key + '","key_source":"' + source +
      '","duration_ms":' + Math.round(rt * 1000) + ',"params":{},"user":null,"role":null,"attack":null,"request":null,"errors":[],"links":[]';
  } catch (e) {
    return '"errors":["internal"]';
  }
}
function s1(r) { return stagedB(r, 1); }
function s2(r) { return stagedB(r, 2); }
function s3(r) { return stagedB(r, 3); }
function s4(r) { return stagedB(r, 4); }
function s5(r) { return stagedB(r, 5); }
function s6(r) { return stagedB(r, 6); }
export default { b, text, s1, s2, s3, s4, s5, s6 };
