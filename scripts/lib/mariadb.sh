# scripts/lib/mariadb.sh — MariaDB helpers shared by scripts/db (the test
# server) and scripts/cluster (the Galera nodes). Sourced after common.sh.

MARIADBD=""
mysql_bins() {
  MARIADBD=$(find_bin mariadbd mysqld) || die "mariadbd not found (run scripts/setup)"
  MARIADB_INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
  MARIADB_ADMIN=$(find_bin mariadb-admin mysqladmin) || die "mariadb-admin not found"
  MARIADB=$(find_bin mariadb mysql) || die "mariadb client not found"
}

# Admin tools as root over the unix socket $1. --no-defaults everywhere:
# /etc/mysql/my.cnf and ~/.my.cnf belong to the packaged server / the
# developer, not to us.
mariadb_admin() { local sock=$1; shift; "$MARIADB_ADMIN" --no-defaults --protocol=socket -S "$sock" -uroot "$@"; }
mariadb_sql() { local sock=$1; shift; "$MARIADB" --no-defaults --protocol=socket -S "$sock" -uroot "$@"; }

mariadb_answers() { # does a server answer on socket $1?
  [[ -S $1 ]] || return 1
  mariadb_admin "$1" --connect-timeout=2 ping >/dev/null 2>&1
}

is_mariadbd() { # is pid $1 a mariadbd/mysqld (not a recycled pid)?
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null || true)
  [[ $exe == *mariadbd* || $exe == *mysqld* ]]
}

# Give the server on socket $1 the test account and databases (idempotent).
mariadb_provision() {
  local sock=$1 db hosts h
  # Anonymous accounts (''@localhost, ''@<hostname>) sort before 'strata'@'%'
  # in MariaDB's host matching and would shadow it for loopback logins.
  hosts=$(mariadb_sql "$sock" -N -B -e "SELECT Host FROM mysql.user WHERE User = ''")
  for h in $hosts; do
    mariadb_sql "$sock" -e "DROP USER ''@'$h'"
  done
  {
    for h in '%' 'localhost' '127.0.0.1'; do
      echo "CREATE USER IF NOT EXISTS '$DB_USER'@'$h' IDENTIFIED BY '$DB_PASSWORD';"
      echo "ALTER USER '$DB_USER'@'$h' IDENTIFIED BY '$DB_PASSWORD';"
      echo "GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'$h' WITH GRANT OPTION;"
    done
    for db in "${DATABASES[@]}"; do
      echo "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    done
    echo "FLUSH PRIVILEGES;"
  } | mariadb_sql "$sock"
}
