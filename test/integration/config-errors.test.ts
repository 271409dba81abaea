/**
 * A configuration error after a reload: the record of every request names the bad entry, and on
 * QuickJS the error log names it again once the reloaded workers serve (once per context, not
 * per request). On the njs engine the error log follows nginx's connection numbers (README).
 */
import { startNginx, Nginx, upstreamLines, recordingLines } from '../helpers/nginx';
import { currentEngine } from '../helpers/engines';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request } from '../helpers/http';

let up: Upstream;
let ng: Nginx;

beforeAll(async () => {
  up = await startUpstream();
  ng = await startNginx({
    http: `
    ${upstreamLines(up.port)}
    server {
        ${recordingLines({ secret: 'errors-secret' })}
        set $api_sessions_params 'request.cookies.sid group; request.query.q';
        location / { proxy_pass http://app; }
    }
`,
  });
});

afterAll(async () => {
  await ng?.stop();
  await up?.close();
});

const mentions = () => ng.errorLog().split('\n').filter((l) => l.includes('"request.cookies.sid group"')).length;

test('a bad entry is named in every record and, after a reload, in the error log again on QuickJS', async () => {
  const one = async () => {
    const r = await request(ng.url('/x?q=1'));
    return ng.recordById(String(r.headers['x-request-id']));
  };
  const first = await one();
  expect(first.errors[0]).toMatch(/^config: \$api_sessions_params entry 1 "request.cookies.sid group": unknown selector/);
  expect(first.params).toEqual({ 'request.query.q': '1' });
  const before = mentions();
  expect(before).toBeGreaterThanOrEqual(1);
  for (let i = 0; i < 5; i++) await one();
  // QuickJS: not once per request (the njs engine writes it on the first request of each of
  // nginx's first 8 connections, and these requests each open one)
  if (currentEngine().qjs) expect(mentions()).toBe(before);

  await ng.reload();
  const logged = mentions();
  const after = await one();
  expect(after.errors[0]).toBe(first.errors[0]);
  if (currentEngine().qjs) expect(mentions()).toBe(logged + 1);
});
