#!/bin/bash
# Run once by the official ClickHouse image on an empty data volume (/docker-entrypoint-initdb.d):
# creates the console's schema from schema.sql, the same file the console's store runs.
sed -e "s/{database}/${API_SESSIONS_DB:-api_sessions}/g" \
    -e "s/{retention_days}/${API_SESSIONS_RETENTION_DAYS:-7}/g" /schema/schema.sql \
  | clickhouse client --multiquery --user "${CLICKHOUSE_USER:-default}" --password "${CLICKHOUSE_PASSWORD:-}"
