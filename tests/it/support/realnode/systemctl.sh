#!/bin/sh
# systemctl on a real node of the test fixture (tests/it/support/realnode), where no systemd runs: drives the
# fixture's kubelet unit (kubelet-unit.sh) as systemctl drives kubelet.service; every other unit is unknown.
S=@STATE@
verb=$1
unit=${2%.service}
case "$verb" in
  daemon-reload) exit 0 ;;
esac
if [ "$unit" != kubelet ]; then
  case "$verb" in
    is-active) echo inactive; exit 3 ;;
    is-enabled) echo "Failed to get unit file state for $unit.service: No such file or directory" >&2; exit 1 ;;
    *) echo "Unit $unit.service could not be found." >&2; exit 4 ;;
  esac
fi
running() { [ -s "$S/kubelet.pid" ] && kill -0 "$(cat "$S/kubelet.pid")" 2>/dev/null; }
case "$verb" in
  start | restart)
    old=$(cat "$S/kubelet.pid" 2>/dev/null)
    echo run > "$S/kubelet.want"
    [ "$verb" = restart ] && [ -n "$old" ] && kill "$old" 2>/dev/null
    touch "$S/kick"
    i=0
    while [ $i -lt 100 ]; do
      new=$(cat "$S/kubelet.pid" 2>/dev/null)
      [ -n "$new" ] && [ "$new" != "$old" ] && exit 0
      [ "$verb" = start ] && running && exit 0
      sleep 0.05; i=$((i + 1))
    done
    echo "kubelet.service did not start" >&2; exit 1 ;;
  stop)
    echo stop > "$S/kubelet.want"
    pid=$(cat "$S/kubelet.pid" 2>/dev/null)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    i=0
    while [ $i -lt 200 ] && running; do sleep 0.05; i=$((i + 1)); done
    exit 0 ;;
  enable | disable) exit 0 ;;
  is-enabled) echo enabled ;;
  is-active) if running; then echo active; else echo inactive; exit 3; fi ;;
  status)
    if running; then echo "* kubelet.service - kubelet (test fixture)"; echo "     Active: active (running)"
    else echo "* kubelet.service - kubelet (test fixture)"; echo "     Active: inactive (dead)"; exit 3; fi ;;
  *) echo "systemctl stand-in: '$verb' is not supported" >&2; exit 1 ;;
esac
