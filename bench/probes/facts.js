function c(r) { return '1'; }
function r0(r) { return r.variables.api_sessions_facts ? '1' : '0'; }
function r1(r) { return r.variables.api_sessions_times ? '1' : '0'; }
function r2(r) { return r.variables.msec ? '1' : '0'; }
function r3(r) { var t = r.variables.api_sessions_times; var s = t.indexOf(' '); var ms = Math.round((Number(t.slice(0, s)) - Number(t.slice(s + 1))) * 1000); return ms > 0 ? '1' : '0'; }
function r4(r) { return r.variables.api_sessions_app_value ? '1' : '0'; }
function r5(r) { return r.variables.api_sessions_secret ? '1' : '0'; }
function r6(r) { var v = r.variables; return v.api_sessions_secret && v.api_sessions_app_value && v.api_sessions_params === '' ? '1' : '0'; }
function r7(r) { return r.headersIn.Cookie ? '1' : '0'; }
function r8(r) { return r.variables.http_cookie ? '1' : '0'; }
function r9(r) { var t = r.variables.api_sessions_times; var ms = Math.round((parseFloat(t) - parseFloat(t.slice(t.indexOf(' ') + 1))) * 1000); return ms > 0 ? '1' : '0'; }
export default { c, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9 };
