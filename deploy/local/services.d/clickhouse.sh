# shellcheck shell=bash
# clickhouse: Debian's clickhouse-server package (bookworm ships 18.16.1), the
# oldest ClickHouse the project's SQL must run on. apt-get installs it (and
# clickhouse-client) system-wide when clickhouse-server is not on PATH; `up`
# then runs it in the foreground with the project's own configuration
# (deploy/local/clickhouse/): 127.0.0.1 only, native protocol 19000, HTTP
# 18123, data and logs under $SVC/clickhouse. The distro's init script and
# systemd unit are never used.

clickhouse_kind() { echo server; }
clickhouse_ports() { echo "19000 18123"; }
clickhouse_addr() { echo "127.0.0.1:19000"; }
clickhouse_env() { echo "FAIRSTREAM_CLICKHOUSE_ADDR=127.0.0.1:19000"; }

clickhouse_installed() {
  command -v clickhouse-server >/dev/null 2>&1 && command -v clickhouse-client >/dev/null 2>&1
}

# clickhouse_query SQL: one query against the local server, with a deadline.
clickhouse_query() {
  timeout 10 clickhouse-client --host 127.0.0.1 --port 19000 --query "$1"
}

clickhouse_health() { [ "$(clickhouse_query 'SELECT 1' 2>/dev/null)" = 1 ]; }

clickhouse_version() {
  local v
  v=$(clickhouse_query 'SELECT version()' 2>/dev/null) ||
    v=$(dpkg-query -W -f '${Version}' clickhouse-server 2>/dev/null) || v=""
  [ -n "$v" ] && echo "clickhouse ${v%%+*}" || echo "clickhouse ?"
}

clickhouse_install() {
  local log sudo="" policy=/usr/sbin/policy-rc.d own_policy=0
  mkdir -p "$CACHE/clickhouse"
  log="$CACHE/clickhouse/install.log"
  : >"$log"
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      die "clickhouse: installing Debian's clickhouse-server needs root or sudo; install clickhouse-server and clickhouse-client yourself"
    sudo=sudo
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "clickhouse: apt-get not found; install ClickHouse so that clickhouse-server and clickhouse-client are on PATH"

  # The package's maintainer script would start the distro's own server
  # (/var/lib/clickhouse, ports 9000, 8123 and 9009) through invoke-rc.d or
  # systemd. A policy-rc.d that denies starts, for the length of this install
  # only, keeps it from doing so; one already there is left alone.
  if [ ! -e "$policy" ]; then
    $sudo sh -c "printf '#!/bin/sh\n# deploy/local/services: temporary, while it installs clickhouse-server\nexit 101\n' >$policy && chmod 755 $policy"
    own_policy=1
    # shellcheck disable=SC2064
    trap "$sudo rm -f $policy" EXIT
  fi

  local apt=($sudo env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends)
  say "clickhouse: installing Debian's clickhouse-server and clickhouse-client with apt-get"
  local ok=1
  if ! "${apt[@]}" install clickhouse-server clickhouse-client >>"$log" 2>&1; then
    say "clickhouse: apt-get install failed; running apt-get update and trying again"
    if ! { $sudo apt-get -q update >>"$log" 2>&1 && "${apt[@]}" install clickhouse-server clickhouse-client >>"$log" 2>&1; }; then
      ok=0
    fi
  fi
  if [ $own_policy = 1 ]; then
    $sudo rm -f "$policy"
    trap - EXIT
  fi
  [ $ok = 1 ] || install_failed clickhouse "clickhouse-server clickhouse-client" apt-get "$log"
  # Nor should the distro's server start at the next boot.
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable clickhouse-server >>"$log" 2>&1 || true
  fi
  hash -r
}

clickhouse_start() {
  local dir
  dir=$(svcdir clickhouse)
  mkdir -p "$dir/etc" "$dir/data/tmp" "$dir/data/user_files" "$dir/data/format_schemas"
  sed "s:@DIR@:$dir:g" "$here/clickhouse/config.xml" >"$dir/etc/config.xml"
  cp "$here/clickhouse/users.xml" "$dir/etc/users.xml"
  spawn clickhouse clickhouse-server --config-file="$dir/etc/config.xml"
}
