# shellcheck shell=bash
# Shared machinery of deploy/local/services. A service NAME is defined in
# services.d/NAME.sh by these functions:
#   NAME_kind       "server" (a process `up` starts) or "library" (installed only)
#   NAME_ports      the loopback ports it listens on (servers)
#   NAME_installed  true when its install is complete (never after a failed one)
#   NAME_install    download and install it under $CACHE; stage, then mark done
#   NAME_start      start it in the background with `spawn NAME command...`
#   NAME_health     true when it answers a real request
#   NAME_version    its version, for the status line
#   NAME_addr       where it listens (or where it is installed)
#   NAME_env        VAR=value lines for the tests

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

svcdir() { echo "$SVC/$1"; }
logfile() { echo "$SVC/$1/$1.log"; }
pidfile() { echo "$SVC/$1/pid"; }

known() {
  local s
  for s in "${ALL[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

# alive NAME: the process `up` recorded for NAME is running (a zombie,
# dead but not yet reaped, is not).
alive() {
  local pf pid state
  pf=$(pidfile "$1")
  [ -f "$pf" ] || return 1
  pid=$(cat "$pf")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# listening PORT: something accepts TCP connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# holder PORT: which process listens on PORT, for error messages.
holder() {
  local line
  line=$(ss -ltnpH "sport = :$1" 2>/dev/null | head -1 | grep -o 'users:(([^)]*' | sed 's/users:((//') || true
  [ -n "$line" ] && echo "$line" || echo "another process"
}

# spawn NAME COMMAND...: start COMMAND in its own session, logging to NAME's
# log, and record its PID.
spawn() {
  local name=$1; shift
  mkdir -p "$(svcdir "$name")"
  printf '\n=== %s: started by deploy/local/services: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$(logfile "$name")"
  setsid "$@" >>"$(logfile "$name")" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

# mark_installed DIR VERSION / is_marked DIR: an install is done only once
# its marker is written, after everything else succeeded.
mark_installed() { echo "$2" >"$1/.installed"; }
is_marked() { [ -f "$1/.installed" ]; }

# install_failed NAME PACKAGE CLIENT LOG: the error for a failed download.
install_failed() {
  say "$1: installing $2 with $3 failed; nothing was marked installed. Last lines of $4:"
  tail -n 15 "$4" >&2 || true
  exit 1
}

tail_log() {
  local f
  f=$(logfile "$1")
  [ -f "$f" ] && tail -n "${2:-10}" "$f" | sed 's/^/    | /' >&2
}

line() { # NAME STATE
  local name=$1 state=$2 version addr
  version=$("${name}_version" 2>/dev/null || echo "?")
  addr=$("${name}_addr" 2>/dev/null || echo "?")
  printf '%-11s %-10s %-22s %-24s log %s\n' "$name" "$state" "$version" "$addr" "$(logfile "$name")"
}

wait_healthy() { # NAME TIMEOUT_S
  local name=$1 timeout=$2 start=$SECONDS next=10
  until "${name}_health" 2>/dev/null; do
    if ! alive "$name"; then
      say "$name exited while starting; last lines of $(logfile "$name"):"
      tail_log "$name" 25
      return 1
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      say "$name did not answer its health check within ${timeout}s; last lines of $(logfile "$name"):"
      tail_log "$name" 25
      return 1
    fi
    if [ $((SECONDS - start)) -ge "$next" ]; then
      say "waiting for $name ($((SECONDS - start))s)"
      next=$((next + 10))
    fi
    sleep 0.5
  done
}

stop_one() { # NAME
  local name=$1 pid pf i
  pf=$(pidfile "$name")
  [ -f "$pf" ] || return 0
  pid=$(cat "$pf")
  if alive "$name"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do
      alive "$name" || break
      sleep 0.5
    done
    if alive "$name"; then
      say "$name (pid $pid) did not stop on SIGTERM within 30s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pf"
}

cmd_up() {
  local targets=("$@") s p conflicts=() t0=$SECONDS
  [ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
  "$here/ensure-tools"
  for s in "${targets[@]}"; do known "$s" || die "unknown service '$s' (known: ${ALL[*]})"; done
  mkdir -p "$SVC"

  # Ports first: a taken port stops everything before anything starts.
  for s in "${targets[@]}"; do
    [ "$("${s}_kind")" = server ] || continue
    alive "$s" && continue
    for p in $("${s}_ports"); do
      listening "$p" && conflicts+=("$s: port $p on 127.0.0.1 is already in use by $(holder "$p")")
    done
  done
  if [ ${#conflicts[@]} -gt 0 ]; then
    printf 'services: %s\n' "${conflicts[@]}" >&2
    die "nothing was started; free the ports (or stop what holds them) and run up again"
  fi

  for s in "${targets[@]}"; do
    if ! "${s}_installed"; then
      say "installing $s"
      "${s}_install"
      "${s}_installed" || die "$s: the install finished but is not complete"
    fi
  done

  for s in "${targets[@]}"; do
    [ "$("${s}_kind")" = server ] || continue
    if alive "$s"; then continue; fi
    rm -f "$(pidfile "$s")"
    say "starting $s"
    "${s}_start"
  done

  local failed=0
  for s in "${targets[@]}"; do
    if [ "$("${s}_kind")" = server ]; then
      if wait_healthy "$s" 180; then line "$s" up; else line "$s" failed; failed=1; fi
    else
      line "$s" installed
    fi
  done
  say "up took $((SECONDS - t0))s"
  return $failed
}

cmd_down() {
  local purge=0 s i p busy=() names=()
  for a in "$@"; do
    case "$a" in
      --purge) purge=1 ;;
      -*) die "down takes --purge and service names, not '$a'" ;;
      *) known "$a" || die "unknown service '$a' (known: ${ALL[*]})"; names+=("$a") ;;
    esac
  done
  for ((i = ${#ALL[@]} - 1; i >= 0; i--)); do
    s=${ALL[$i]}
    if [ ${#names[@]} -gt 0 ] && [[ " ${names[*]} " != *" $s "* ]]; then continue; fi
    [ "$("${s}_kind")" = server ] || continue
    if [ -f "$(pidfile "$s")" ]; then
      say "stopping $s"
      stop_one "$s"
    fi
    for p in $("${s}_ports"); do
      listening "$p" && busy+=("$s port $p (held by $(holder "$p"), which up did not start)")
    done
    if [ $purge = 1 ]; then
      rm -rf "$(svcdir "$s")/data"
    fi
  done
  [ $purge = 1 ] && say "purged the services' data under $SVC"
  if [ ${#busy[@]} -gt 0 ]; then
    printf 'services: still listening: %s\n' "${busy[@]}" >&2
    return 1
  fi
  return 0
}

cmd_status() {
  local s down=0
  for s in "${ALL[@]}"; do
    if [ "$("${s}_kind")" = library ]; then
      if "${s}_installed"; then line "$s" installed; else line "$s" missing; down=1; fi
      continue
    fi
    if alive "$s"; then
      if "${s}_health" 2>/dev/null; then line "$s" up; else line "$s" unhealthy; tail_log "$s"; down=1; fi
    elif [ -f "$(pidfile "$s")" ]; then
      line "$s" "down"
      say "$s exited after it was started; last lines of $(logfile "$s"):"
      tail_log "$s"
      down=1
    else
      line "$s" down
      down=1
    fi
  done
  [ $down = 0 ] || return 3
}

cmd_logs() {
  local name=${1:-} follow=${2:-}
  [ -n "$name" ] || die "logs needs a service name (${ALL[*]})"
  known "$name" || die "unknown service '$name' (known: ${ALL[*]})"
  [ -f "$(logfile "$name")" ] || die "$name has no log yet ($(logfile "$name"))"
  if [ "$follow" = -f ]; then tail -n 100 -f "$(logfile "$name")"; else tail -n 200 "$(logfile "$name")"; fi
}

# cmd_env [NAME...]: exports for the services that are up (servers) or
# installed (libraries); a service that is not is left out, so that a test
# needing it says so.
cmd_env() {
  local targets=("$@") s
  [ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
  for s in "${targets[@]}"; do
    known "$s" || die "unknown service '$s' (known: ${ALL[*]})"
    if [ "$("${s}_kind")" = server ]; then
      alive "$s" || continue
    else
      "${s}_installed" || continue
    fi
    "${s}_env" | sed 's/^/export /'
  done
}
