# shellcheck shell=sh
# Retries for Ingot's initramfs (busybox sh; sourced by /init as /lib/ingot/fetch.sh).
#
# The rack agent that serves the root squashfs and proxies the metadata service may be
# restarting at the moment a machine reaches its initramfs (systemd brings a killed agent back in
# about 2 s; a controller failover behind the metadata proxy takes longer). One failed attempt
# must not cost the machine its boot: a powered-off machine is heard of again only when the
# deploy times out. So each network step is tried INGOT_RETRY_TRIES times (default 7), waiting
# 1, 2, 4, 8, 8, 8 s in between (31 s in all; the wait doubles up to INGOT_RETRY_MAX_WAIT).
# The fleet simulator mirrors this schedule (packages/fleet-sim, INITRAMFS_RETRY).
#
# Needs a `log MESSAGE` function from the caller.

: "${INGOT_RETRY_TRIES:=7}"
: "${INGOT_RETRY_MAX_WAIT:=8}"

# ingot_retry WHAT COMMAND [ARG...]: runs COMMAND until it succeeds; logs each failed attempt.
# Returns 0 on success, 1 after INGOT_RETRY_TRIES failed attempts.
ingot_retry() {
  _r_what=$1
  shift
  _r_try=1
  _r_wait=1
  while ! "$@"; do
    if [ "$_r_try" -ge "$INGOT_RETRY_TRIES" ]; then
      log "${_r_what}: attempt ${_r_try} of ${INGOT_RETRY_TRIES} failed, giving up"
      return 1
    fi
    log "${_r_what}: attempt ${_r_try} of ${INGOT_RETRY_TRIES} failed, trying again in ${_r_wait} s"
    sleep "$_r_wait"
    _r_try=$((_r_try + 1))
    _r_wait=$((_r_wait * 2))
    [ "$_r_wait" -le "$INGOT_RETRY_MAX_WAIT" ] || _r_wait=$INGOT_RETRY_MAX_WAIT
  done
}

# ingot_fetch URL FILE: GET URL into FILE, whole, with ingot_retry. A failed attempt leaves no
# partial FILE behind (the next one starts anew: busybox wget cannot check what it resumes).
ingot_fetch() {
  ingot_retry "fetching ${1%%\?*}" _ingot_fetch_once "$1" "$2"
}

_ingot_fetch_once() {
  rm -f "$2"
  # quirk(busybox 1.35 static, Debian 12): `wget -T <secs>` segfaults; bound it with `timeout`.
  timeout 900 wget -q -O "$2" "$1" && return 0
  rm -f "$2"
  return 1
}
