/**
 * The block list pulled into a shared dictionary (njs >= 0.8: js_periodic, ngx.fetch,
 * js_shared_dict_zone; nginx/api_sessions_blocks_pull.conf). What the list is and how it is
 * applied: block.ts.
 */
import { BLOCK_DICT, MAX_LIST_BYTES, SharedDict, applyBlockList } from './block';

export function blockDict(): SharedDict | undefined {
  const shared = (ngx as unknown as { shared?: { [name: string]: SharedDict } }).shared;
  return shared === undefined ? undefined : shared[BLOCK_DICT];
}

/** js_periodic's session object (njs 0.8), which njs-types 0.7 does not declare. */
export interface PeriodicSession {
  variables: { [name: string]: string | undefined };
}

/**
 * js_periodic: pulls GET /api/blocks/list from $api_sessions_blocks_url with the blocks token
 * ($api_sessions_blocks_token, else env API_SESSIONS_BLOCKS_TOKEN) into the shared dictionary.
 * Any failure (console away, bad status, a list larger than MAX_LIST_BYTES or malformed, a full
 * zone) keeps the current list and is logged; its blocks still end at their expiries.
 */
export function pull_blocks(s: PeriodicSession): Promise<void> {
  let dict: SharedDict | undefined;
  let url = '';
  let token = '';
  try {
    dict = blockDict();
    url = s.variables.api_sessions_blocks_url || '';
    token = s.variables.api_sessions_blocks_token || '';
    if (!token && typeof process !== 'undefined' && process.env) token = process.env.API_SESSIONS_BLOCKS_TOKEN || '';
  } catch (e) {
    ngx.log(ngx.ERR, 'api_sessions: block pull not configured: ' + String((e as Error).message || e));
    return Promise.resolve();
  }
  if (dict === undefined || !url) {
    ngx.log(ngx.ERR, 'api_sessions: block pull needs js_shared_dict_zone zone=' + BLOCK_DICT + ' and $api_sessions_blocks_url (nginx/api_sessions_blocks_pull.conf)');
    return Promise.resolve();
  }
  const d = dict;
  return ngx
    .fetch(url, { headers: { Authorization: 'Bearer ' + token }, max_response_body_size: MAX_LIST_BYTES } as NgxFetchOptions)
    .then(function (reply) {
      if (reply.status !== 200) throw new Error(url + ' answered ' + reply.status);
      return reply.text();
    })
    .then(function (text) {
      applyBlockList(d, text, String(Date.now()), function (message) {
        ngx.log(ngx.ERR, 'api_sessions: ' + message);
      });
    })
    .catch(function (e) {
      const why = String((e as Error).message || e);
      ngx.log(ngx.WARN, 'api_sessions: block list not pulled, the last one stays: ' + (/size|large|limit/i.test(why) ? 'larger than ' + MAX_LIST_BYTES + ' bytes, more than any list the console serves (' + why + ')' : why));
    });
}
