# shellcheck shell=bash
# chdb: libchdb.so, current ClickHouse as an in-process library (what
# analytics' chDB backend and `fairstream dev` use), from the npm package
# @chdb/lib-linux-x64-gnu. Installed, never started: the versioned copy lives in
# $CACHE/chdb/VERSION/ and $CACHE/lib/libchdb.so points at it.

chdb_version_wanted() { echo 26.5.3; }
chdb_package() { echo "@chdb/lib-linux-x64-gnu@$(chdb_version_wanted)"; }
chdb_home() { echo "$CACHE/chdb/$(chdb_version_wanted)"; }
chdb_lib() { echo "$CACHE/lib/libchdb.so"; }

chdb_kind() { echo library; }
chdb_ports() { :; }
chdb_start() { :; }
chdb_addr() { chdb_lib; }
chdb_version() { echo "chdb $(cat "$(chdb_home)/.installed" 2>/dev/null || echo '?')"; }
# CHDB_LIB_PATH is the library file itself (it is handed to dlopen), not its folder.
chdb_env() { echo "CHDB_LIB_PATH=$(chdb_lib)"; }

chdb_installed() {
  is_marked "$(chdb_home)" && [ -f "$(chdb_lib)" ] && [ "$(chdb_lib)" -ef "$(chdb_home)/libchdb.so" ]
}
chdb_health() { chdb_installed; }

chdb_install() {
  [ "$(uname -sm)" = "Linux x86_64" ] ||
    die "chdb: $(chdb_package) is built for Linux x86_64 only, not $(uname -sm); install libchdb.so yourself and set CHDB_LIB_PATH to it"
  command -v npm >/dev/null 2>&1 || die "chdb: npm is needed to fetch $(chdb_package) from the npm registry"
  local home stage log tgz
  home=$(chdb_home)
  stage="$home.partial"
  log="$CACHE/chdb/install.log"
  rm -rf "$stage"
  mkdir -p "$stage" "$CACHE/lib"
  say "chdb: fetching $(chdb_package) with npm (a 160 MB download, 530 MB unpacked)"
  # A throwaway npm cache: the tarball is unpacked below and not needed twice.
  if ! (cd "$stage" && npm pack --silent --cache "$stage/npm-cache" "$(chdb_package)") >"$log" 2>&1; then
    rm -rf "$stage"
    install_failed chdb "$(chdb_package)" npm "$log"
  fi
  tgz=$(ls "$stage"/*.tgz 2>/dev/null | head -1)
  if [ -z "$tgz" ] || ! tar -xzf "$tgz" -C "$stage" >>"$log" 2>&1; then
    rm -rf "$stage"
    install_failed chdb "$(chdb_package)" npm "$log"
  fi
  local so
  so=$(find "$stage/package" -name libchdb.so -type f | head -1)
  if [ -z "$so" ]; then
    rm -rf "$stage"
    die "chdb: $(chdb_package) holds no libchdb.so; nothing was marked installed"
  fi
  mv "$so" "$stage/libchdb.so"
  rm -rf "$stage/package" "$stage/npm-cache" "$tgz"
  rm -rf "$home"
  mv "$stage" "$home"
  # Point $CACHE/lib/libchdb.so at this version, atomically.
  ln -sfn "$home/libchdb.so" "$(chdb_lib).new"
  mv -fT "$(chdb_lib).new" "$(chdb_lib)"
  mark_installed "$home" "$(chdb_version_wanted)"
}
