#!/bin/sh
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
# keydesk_owner owns the audit schema and runs migrations; keydesk_app is what KeyDesk runs as:
# db:migrate --grant keydesk_app gives it INSERT and SELECT on the trail, never UPDATE or DELETE
# on it, and UPDATE only on the chain head and the working tables beside the trail (README:
# "PostgreSQL audit store" lists every GRANT).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$KEYDESK_OWNER_DB_PASSWORD" -v app_password="$KEYDESK_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE keydesk_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE keydesk_app LOGIN PASSWORD :'app_password';
GRANT CREATE, CONNECT ON DATABASE keydesk TO keydesk_owner;
GRANT CONNECT ON DATABASE keydesk TO keydesk_app;
SQL
