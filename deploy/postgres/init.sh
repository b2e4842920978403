#!/bin/sh
# One database and one login role per Aliada app; each role owns its own
# database and may not even connect to the others.
#
# The official postgres image runs this once, on the first start of an empty
# data directory (it is mounted into /docker-entrypoint-initdb.d/). It needs,
# from the environment:
#   POSTGRES_USER                 the superuser (set by the postgres image)
#   GATEWAY_DB_PASSWORD, PARTICIPANTS_DB_PASSWORD, MATCHING_DB_PASSWORD,
#   SESSIONS_DB_PASSWORD, EVALUATION_DB_PASSWORD, NOTIFICATIONS_DB_PASSWORD
#                                 each role's password (URL-safe characters,
#                                 since they are also written into the apps'
#                                 <APP>_DATABASE_URL)
#   ALIADA_DB_PREFIX              optional prefix of role and database names
#                                 (empty in compose; the deploy tests use it to
#                                 run this script on a shared test server)
# psql connects the usual way (PGHOST, PGPORT, PGPASSWORD... or the local socket).
set -eu

prefix="${ALIADA_DB_PREFIX:-}"
superuser="${POSTGRES_USER:-postgres}"

run_sql() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$superuser" "$@"
}

for app in gateway participants matching sessions evaluation notifications; do
    var="$(echo "$app" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    eval "password=\${$var:-}"
    if [ -z "$password" ]; then
        echo "init.sh: $var is not set; every app's database role needs a password" >&2
        exit 1
    fi
    name="${prefix}${app}"
    echo "init.sh: role and database \"$name\""
    # psql quotes the variables itself: :"name" as an identifier, :'password' as a literal.
    run_sql --dbname postgres -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT;
CREATE DATABASE :"name" OWNER :"name" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
\connect :"name"
-- Only the owner works in the public schema (PostgreSQL 15+ already makes the
-- database owner its owner; older versions let PUBLIC create objects there).
ALTER SCHEMA public OWNER TO :"name";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
done
