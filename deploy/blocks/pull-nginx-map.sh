#!/bin/sh
# Installs the console's block list as an nginx include and reloads nginx when the list changed:
# the fallback for njs 0.7.9, which cannot pull by itself (docs/console.md, "Blocks"). Run it
# from a systemd timer (deploy/blocks/api-sessions-blocks.timer) or cron.
#
#   API_SESSIONS_CONSOLE       the console's URL, e.g. https://console.internal:7441/
#   API_SESSIONS_BLOCKS_TOKEN  the console's blocks token (not its UI token)
#   BLOCKS_FILE                the include (default /etc/nginx/api_sessions_blocks.conf)
#   API_SESSIONS_NGINX         the nginx command (default: nginx), e.g. "nginx -c /etc/nginx/nginx.conf"
#
# A console that cannot be reached, or an answer that is not a whole list, leaves the installed
# file alone; a list nginx refuses (nginx -t) is put back to the last one. Exit status 0 when the
# list is installed or unchanged.
set -eu
: "${API_SESSIONS_CONSOLE:?set the console URL}"
: "${API_SESSIONS_BLOCKS_TOKEN:?set the blocks token}"
file="${BLOCKS_FILE:-/etc/nginx/api_sessions_blocks.conf}"
nginx="${API_SESSIONS_NGINX:-nginx}"  # not $NGINX: nginx reads that one (inherited sockets)
tmp="$file.new"
trap 'rm -f "$tmp"' EXIT

if ! curl -fsS --max-time 10 --max-filesize 16777216 -H "Authorization: Bearer $API_SESSIONS_BLOCKS_TOKEN" \
  -o "$tmp" "${API_SESSIONS_CONSOLE%/}/api/blocks/nginx-map"; then
  echo "api-sessions blocks: the console was not reached: the installed list stays" >&2
  exit 1
fi
# A whole list starts with its header and ends with the map's closing brace.
if ! head -n 1 "$tmp" | grep -q '^# API Sessions blocks' || [ "$(tail -n 1 "$tmp")" != "}" ]; then
  echo "api-sessions blocks: the answer is not a whole list: the installed list stays" >&2
  exit 1
fi
# The first line holds the time it was generated: compare the rest.
if [ -f "$file" ] && [ "$(tail -n +2 "$tmp")" = "$(tail -n +2 "$file")" ]; then
  exit 0
fi
[ -f "$file" ] && cp -p "$file" "$file.last"
mv "$tmp" "$file"
if $nginx -t -q; then
  $nginx -s reload
else
  echo "api-sessions blocks: nginx refused the list: the last one is put back" >&2
  if [ -f "$file.last" ]; then mv "$file.last" "$file"; else rm -f "$file"; fi
  exit 1
fi
