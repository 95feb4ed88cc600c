# shellcheck shell=bash
# milvus: Milvus Lite, the pip package milvus-lite (a pure-Python Milvus with a
# Milvus-protocol gRPC server), in a virtualenv under $CACHE, serving gRPC on
# 127.0.0.1:19530 with its data in $SVC/milvus/data.
#
# milvus-lite 3.x imports pymilvus's generated gRPC stubs (pymilvus.grpc_gen)
# for its server but does not declare pymilvus as a dependency, so both are
# installed, each pinned. The health check uses those stubs too: a real
# MilvusService/CheckHealth call, not a port check.

MILVUS_LITE_VERSION=3.2.2
MILVUS_PYMILVUS_VERSION=3.0.2
MILVUS_PORT=19530

milvus_home() { echo "$CACHE/venv/milvus-lite-$MILVUS_LITE_VERSION"; }
milvus_py() { echo "$(milvus_home)/bin/python"; }
milvus_pins() { echo "milvus-lite==$MILVUS_LITE_VERSION pymilvus==$MILVUS_PYMILVUS_VERSION"; }

milvus_kind() { echo server; }
milvus_ports() { echo "$MILVUS_PORT"; }
milvus_version() { echo "milvus-lite $MILVUS_LITE_VERSION"; }
milvus_addr() { echo "127.0.0.1:$MILVUS_PORT"; }
milvus_env() { echo "FAIRSTREAM_MILVUS_ADDR=127.0.0.1:$MILVUS_PORT"; }

# Installed: the marker names exactly the pins wanted now, and the venv's
# interpreter still runs (a venv links to the python3 it was made with; if
# that one is gone, install again).
milvus_installed() {
  local home
  home=$(milvus_home)
  is_marked "$home" && [ "$(cat "$home/.installed")" = "$(milvus_pins)" ] &&
    "$(milvus_py)" -c '' 2>/dev/null
}

# A virtualenv is not relocatable (its scripts name their own path), so it is
# built in place rather than staged and moved; it counts as installed only
# once the marker is written at the end, and a failed attempt is removed.
milvus_install() {
  local home log py
  home=$(milvus_home)
  log="$CACHE/venv/milvus-lite-install.log"
  py=$(command -v python3) || die "milvus: python3 (3.10 or newer, with the venv module) is needed to run Milvus Lite"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    die "milvus: milvus-lite $MILVUS_LITE_VERSION needs Python 3.10 or newer; $py is $("$py" -V 2>&1)"
  mkdir -p "$CACHE/venv"
  rm -rf "$home"
  : >"$log"
  if ! "$py" -m venv "$home" >>"$log" 2>&1; then
    rm -rf "$home"
    die "milvus: '$py -m venv' failed (on Debian, install python3-venv); see $log"
  fi
  say "milvus: installing $(milvus_pins) with pip from PyPI into $home"
  if ! "$(milvus_py)" -m pip install --disable-pip-version-check --no-input --cache-dir "$CACHE/pip" \
      "milvus-lite==$MILVUS_LITE_VERSION" "pymilvus==$MILVUS_PYMILVUS_VERSION" >>"$log" 2>&1; then
    rm -rf "$home"
    install_failed milvus "$(milvus_pins)" "pip (PyPI)" "$log"
  fi
  if ! "$(milvus_py)" -c 'import milvus_lite.adapter.grpc.server' >>"$log" 2>&1; then
    rm -rf "$home"
    die "milvus: the installed milvus-lite does not import; see $log"
  fi
  mark_installed "$home" "$(milvus_pins)"
}

# The server is the milvus-lite console script's own entry point
# (milvus_lite.cmdline:main, i.e. `milvus-lite server --host --port
# --data-dir`), run through python -c so that SIGTERM (what `down` sends)
# becomes the KeyboardInterrupt on which milvus-lite shuts down cleanly:
# draining requests for up to 5s, then closing the database (fsyncing its WAL).
# Plain `milvus-lite server` dies on SIGTERM without either; SIGINT is no
# way out, as a background process starts with SIGINT ignored.
milvus_start() {
  local data
  data="$(svcdir milvus)/data"
  mkdir -p "$data"
  spawn milvus env PYTHONUNBUFFERED=1 "$(milvus_py)" -c \
    'import signal, sys; signal.signal(signal.SIGTERM, signal.default_int_handler); from milvus_lite.cmdline import main; sys.argv[0] = "milvus-lite"; sys.exit(main())' \
    server --host 127.0.0.1 --port "$MILVUS_PORT" --data-dir "$data"
}

milvus_health() {
  listening "$MILVUS_PORT" || return 1
  "$(milvus_py)" -c '
import sys, grpc
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc
with grpc.insecure_channel(sys.argv[1]) as ch:
    r = milvus_pb2_grpc.MilvusServiceStub(ch).CheckHealth(milvus_pb2.CheckHealthRequest(), timeout=3)
sys.exit(0 if r.status.code == 0 and r.isHealthy else 1)
' "127.0.0.1:$MILVUS_PORT"
}
