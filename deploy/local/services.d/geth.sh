# shellcheck shell=bash
# geth: go-ethereum's geth in --dev mode (a one-node proof-of-authority chain,
# chain ID 1337, that seals a block as soon as a transaction is pending), JSON-RPC
# over HTTP on 127.0.0.1:18545. Built from the go-ethereum module with
# `go install` into $CACHE/bin/geth; the chain lives in $SVC/geth/data, so it
# survives `down` and is deleted by `down --purge`.
#
# Loopback only, and 18545 is the one port it opens: --dev turns p2p off (no
# TCP listener on 30303, no UDP discovery, no dialing), and the flags below say
# so again and keep NAT port mapping (UPnP/NAT-PMP) off. The engine API
# (authrpc, 8551 on localhost by default) is not served in dev mode, which has
# no authenticated APIs; --authrpc.* binds it to 127.0.0.1:18551 should a later
# geth serve it. IPC is disabled; WebSocket, GraphQL, metrics (6060) and pprof
# (6060) are off unless asked for.

geth_version_wanted() { echo v1.17.10; }
geth_dir() { echo "$CACHE/geth"; }
geth_bin() { echo "$CACHE/bin/geth"; }

# The developer account of `geth --dev`: on a datadir whose keystore is empty,
# geth imports this key (utils.DeveloperKey in go-ethereum's cmd/utils/flags.go),
# pre-funds its address in the dev genesis and seals blocks with it.
geth_dev_key() { echo b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291; }
geth_dev_addr() { echo 71562b71999873db5b286df957af199ec94617f7; }

geth_kind() { echo server; }
geth_ports() { echo 18545; }
geth_installed() {
  is_marked "$(geth_dir)" && [ "$(cat "$(geth_dir)/.installed")" = "$(geth_version_wanted)" ] && [ -x "$(geth_bin)" ]
}
geth_version() { echo "geth $(geth_version_wanted)"; }
geth_addr() { echo "127.0.0.1:18545"; }
geth_env() {
  echo "FAIRSTREAM_ETH_RPC=http://127.0.0.1:18545"
  echo "FAIRSTREAM_ETH_DEV_KEY=$(geth_dev_key)"
}

geth_install() {
  command -v go >/dev/null || die "geth: go is needed to build geth from the go-ethereum module"
  local dir pkg stage log pid start next built
  dir=$(geth_dir)
  pkg=github.com/ethereum/go-ethereum/cmd/geth@$(geth_version_wanted)
  log=$dir/install.log
  mkdir -p "$dir" "$CACHE/bin"
  stage=$(mktemp -d "$dir/gobin.XXXXXX")
  say "geth: building $pkg with go install (takes minutes on a small machine; output in $log)"
  # Run outside the checkout so that its go.mod, go.work and GOFLAGS play no part.
  (cd "$dir" && GOBIN=$stage GOWORK=off GOFLAGS= exec go install -v "$pkg") >"$log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null; rm -rf "$stage"' INT TERM
  start=$SECONDS
  next=15
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$next" ]; then
      built=$(grep -cv '^go: ' "$log" || true)
      say "geth: building ($((SECONDS - start))s, $built packages compiled)"
      next=$((next + 15))
    fi
    sleep 1
  done
  if ! wait "$pid" || [ ! -x "$stage/geth" ]; then
    trap - INT TERM
    rm -rf "$stage"
    install_failed geth "$pkg" "go install (Go module proxy)" "$log"
  fi
  trap - INT TERM
  # The key geth --dev imports must be the one geth_env hands to the tests.
  local src
  src="$(go env GOMODCACHE)/github.com/ethereum/go-ethereum@$(geth_version_wanted)/cmd/utils/flags.go"
  if ! grep -q "DeveloperKey, _ = crypto.HexToECDSA(\"$(geth_dev_key)\")" "$src" 2>/dev/null; then
    rm -rf "$stage"
    die "geth: $src does not define the developer key this script exports; update geth_dev_key in $here/services.d/geth.sh"
  fi
  mv -f "$stage/geth" "$(geth_bin)"
  rm -rf "$stage"
  mark_installed "$dir" "$(geth_version_wanted)"
  say "geth: built $("$(geth_bin)" version 2>/dev/null | sed -n 's/^Version: //p') in $((SECONDS - start))s"
}

geth_start() {
  local data
  data=$(svcdir geth)/data
  mkdir -p "$data"
  # geth --dev uses the first account of an existing keystore instead of the
  # well-known developer key; refuse a datadir whose keystore holds another one.
  if compgen -G "$data/keystore/*" >/dev/null && ! compgen -G "$data/keystore/*--$(geth_dev_addr)" >/dev/null; then
    die "geth: $data/keystore holds an account other than the developer account 0x$(geth_dev_addr); run 'deploy/local/services down --purge' and up again"
  fi
  spawn geth "$(geth_bin)" --dev --dev.period 0 --datadir "$data" \
    --http --http.addr 127.0.0.1 --http.port 18545 --http.api eth,net,web3 \
    --ipcdisable \
    --authrpc.addr 127.0.0.1 --authrpc.port 18551 \
    --nodiscover --maxpeers 0 --nat none
}

geth_health() {
  curl -fsS --max-time 2 -X POST http://127.0.0.1:18545 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' 2>/dev/null | grep -q '"result":"0x'
}
