#!/usr/bin/env bash
# Sourced by scripts/test.sh and scripts/venv.sh: `apt_install PACKAGE...` installs Debian packages
# (directly as root, via sudo otherwise). Another apt (an unattended upgrade, a second checkout's
# set-up) may hold apt's lock: it waits for it, up to 10 minutes, instead of failing; any other apt
# error ends with apt's own message.

apt_run() {
  local sudo="" tries=0 err
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  err="$(mktemp)"
  until $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@" 2>"$err"; do
    if grep -q "Could not get lock" "$err" && [ "$tries" -lt 120 ]; then
      tries=$((tries + 1))
      [ "$tries" -eq 1 ] && echo "apt is busy (another apt holds its lock): waiting" >&2
      sleep 5
    else
      cat "$err" >&2
      rm -f "$err"
      return 1
    fi
  done
  cat "$err" >&2
  rm -f "$err"
}

apt_install() {
  echo "installing $* with apt-get" >&2
  apt_run update -qq
  apt_run install -y -qq "$@" >/dev/null
}
