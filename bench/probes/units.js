// Unit costs of njs operations inside nginx (bench/probe.ts, bench/probes/units.conf).
import crypto from 'crypto';
function constant(r) { return 'x'; }
function var1(r) { return r.variables.request_id; }
function var5(r) { var v = r.variables; return v.request_id + v.msec + v.request_time + v.remote_addr + v.host; }
function mapvar(r) { return r.variables.probe_facts; }
function hdr1(r) { return r.headersIn['User-Agent']; }
function hdr5(r) { var h = r.headersIn; return h['User-Agent'] + h['Cookie'] + h['X-Session'] + h['Accept'] + h['Authorization']; }
function hmac(r) { return crypto.createHmac('sha256', 'bench-secret').update('s\napp\n' + r.variables.request_id).digest('hex').slice(0, 32); }
function hmac4(r) { var id = r.variables.request_id; var o = ''; for (var i = 0; i < 4; i++) o += crypto.createHmac('sha256', 'bench-secret').update('s\napp\n' + i + id).digest('hex').slice(0, 32); return o; }
function stringify1(r) { var id = r.variables.request_id; return JSON.stringify(id); }
function stringify3(r) { var id = r.variables.request_id; return JSON.stringify(id) + JSON.stringify(id + 'a') + JSON.stringify(id + 'b'); }
function regex1(r) { var id = r.variables.request_id; return /[^\x20-\x7e]|["\\]/.test(id) ? 'y' : 'n'; }
function concat10(r) { var id = r.variables.request_id; return '"a":"' + id + '","b":"' + id + '","c":' + 1 + ',"d":"' + id + '","e":' + id.length; }
function iso(r) { var ms = Number(r.variables.msec) * 1000; return new Date(ms).toISOString(); }
function split8(r) { var t = r.variables.probe_facts; var p = t.split(' '); return p[0] + p[1]; }
function cookieRe(r) { var h = r.headersIn['Cookie'] || ''; var m = /(?:^|[;,])\s*(PHPSESSID|JSESSIONID|ASP\.NET_SessionId|connect\.sid|laravel_session|ci_session|_session_id|sessionid|session|SESSION|sid)=([^;,]*)/.exec(h); return m ? m[2] : ''; }
function fn20(r) {
  function a1(x) { return x + 1; } function a2(x) { return x + 2; } function a3(x) { return x + 3; } function a4(x) { return x + 4; } function a5(x) { return x + 5; }
  function b1(x) { return x + 1; } function b2(x) { return x + 2; } function b3(x) { return x + 3; } function b4(x) { return x + 4; } function b5(x) { return x + 5; }
  function c1(x) { return x + 1; } function c2(x) { return x + 2; } function c3(x) { return x + 3; } function c4(x) { return x + 4; } function c5(x) { return x + 5; }
  function d1(x) { return x + 1; } function d2(x) { return x + 2; } function d3(x) { return x + 3; } function d4(x) { return x + 4; } function d5(x) { return x + 5; }
  return 'x';
}
function obj10(r) { var o = { a: 1, b: 'x', c: null, d: [], e: {}, f: 'y', g: 2, h: 'z', i: true, j: 'w' }; return o.b; }
export default { constant, var1, var5, mapvar, hdr1, hdr5, hmac, hmac4, stringify1, stringify3, regex1, concat10, iso, split8, cookieRe, fn20, obj10 };
