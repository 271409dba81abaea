#!/bin/sh
# Installs the console's block list as an nginx include and reloads nginx when the list changed:
# the fallback for njs 0.7.9, which cannot pull by itself (docs/console.md, "Blocks"). Run it
# from a systemd timer (deploy/blocks/api-sessions-blocks.timer) or cron. Needs curl and a POSIX
# shell and awk.
#
#   API_SESSIONS_CONSOLE       the console's URL, e.g. https://console.internal:7441/
#   API_SESSIONS_BLOCKS_TOKEN  the console's blocks token (not its UI token)
#   BLOCKS_FILE                the include (default /etc/nginx/api_sessions_blocks.conf)
#   API_SESSIONS_NGINX         the nginx command (default: nginx), e.g. "nginx -c /etc/nginx/nginx.conf"
#
# The include nginx reads runs with nginx's privileges, so only a block list is installed: the
# answer must be exactly what the console generates (its header line, comments, the two `map`
# blocks, and entries whose keys and values are hex and digits in single quotes). Anything else
# (another directive, a `server` block, an `include`, a list cut short, more than 10,000
# entries, more than 1 MiB) is refused with the line that broke the rule. A console that cannot
# be reached, or an answer refused, leaves the installed list in place (its blocks still end at
# their expiries: nginx reads them from the list); a list nginx refuses (nginx -t) is put back
# to the last one. Exit status 0 when the list is installed or unchanged, 1 otherwise.
set -eu
: "${API_SESSIONS_CONSOLE:?set the console URL}"
: "${API_SESSIONS_BLOCKS_TOKEN:?set the blocks token}"
file="${BLOCKS_FILE:-/etc/nginx/api_sessions_blocks.conf}"
nginx="${API_SESSIONS_NGINX:-nginx}"  # not $NGINX: nginx reads that one (inherited sockets)
tmp="$file.new"
max_bytes=1048576   # MAX_LIST_BYTES in the console: its largest list takes about 600 KB
max_entries=10000   # MAX_BLOCKS in the console
say() { echo "api-sessions blocks: $*" >&2; }

command -v curl >/dev/null 2>&1 || { say "curl is needed (apt-get install curl): the installed list stays"; exit 1; }
trap 'rm -f "$tmp"' EXIT

rc=0
status=$(curl -sS --max-time 10 --max-filesize "$max_bytes" -H "Authorization: Bearer $API_SESSIONS_BLOCKS_TOKEN" \
  -o "$tmp" -w '%{http_code}' "${API_SESSIONS_CONSOLE%/}/api/blocks/nginx-map") || rc=$?
if [ "$rc" -eq 63 ] || { [ "$rc" -eq 0 ] && [ "$(wc -c < "$tmp")" -gt "$max_bytes" ]; }; then
  say "the console's answer is larger than $max_bytes bytes, more than any block list: refused, the installed list stays"
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  say "the console was not reached (curl exit status $rc): the installed list stays"
  exit 1
fi
if [ "$status" != 200 ]; then
  say "the console answered HTTP $status (401: check the blocks token): the installed list stays"
  exit 1
fi

# Printable ASCII and newlines only (no NUL, no carriage return, no other byte nginx might read).
if [ "$(LC_ALL=C tr -d '\n\040-\176' < "$tmp" | head -c 1 | wc -c)" -ne 0 ]; then
  say "the answer is refused: it holds bytes other than printable ASCII: the installed list stays"
  exit 1
fi
# The include's grammar, line by line (nginxMap in src/console/blocks.ts writes it).
why=$(LC_ALL=C awk -v max="$max_entries" -v q="'" '
  function refuse(msg) { print "line " NR ": " msg; failed = 1; exit 1 }
  BEGIN {
    header = "^# API Sessions blocks, version [0-9]+, generated [0-9]+-[0-9]+-[0-9]+T[0-9:.]+Z by the console [(]GET /api/blocks/nginx-map[)][.]$"
    listed = "^map [$]host [$]api_sessions_block_list [{] default " q "([0-9]+ [0-9]+)?" q "; [}]$"
    entry = "^    " q "[suk]:[0-9a-f]+" q " " q "[0-9]+" q ";$"
  }
  NR == 1 { if ($0 !~ header) refuse("not the header of a block list"); next }
  state == 0 && /^#/ { next }
  state == 0 { if ($0 !~ listed) refuse("expected the map of $api_sessions_block_list"); state = 1; next }
  state == 1 { if ($0 != "map $api_sessions_block_probe $api_sessions_block_hit {") refuse("expected the map of $api_sessions_block_hit"); state = 2; next }
  state == 2 { if ($0 != "    volatile;") refuse("expected volatile;"); state = 3; next }
  state == 3 { if ($0 != "    default " q q ";") refuse("expected default " q q ";"); state = 4; next }
  state == 4 && $0 == "}" { state = 5; next }
  state == 4 {
    # An entry: a prefixed key of 32 hex characters and an expiry in ms, both quoted.
    if ($0 !~ entry || index($0, q " " q) != 40 || length($0) > 59) refuse("not a block list entry")
    if (++entries > max) refuse("more than " max " entries")
    next
  }
  state == 5 { refuse("text after the end of the list") }
  END { if (!failed && state != 5) { print "the list is cut short"; exit 1 } }
' "$tmp") || { say "the answer is refused, it is not a block list as the console writes it ($why): the installed list stays"; exit 1; }

# The first line holds the time it was generated: compare the rest.
if [ -f "$file" ] && [ "$(tail -n +2 "$tmp")" = "$(tail -n +2 "$file")" ]; then
  exit 0
fi
[ -f "$file" ] && cp -p "$file" "$file.last"
mv "$tmp" "$file"
if $nginx -t -q; then
  $nginx -s reload
else
  say "nginx refused the list: the last one is put back"
  if [ -f "$file.last" ]; then mv "$file.last" "$file"; else rm -f "$file"; fi
  exit 1
fi
