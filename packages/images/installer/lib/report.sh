# shellcheck shell=sh
# Reporting: events to <metadata>status/<machine> (deploy-contract.md "Reporting event"), the
# step runner, and the final power action. Needs curl and jq; uses LOG, STATE, WORK, STATUS_URL
# and the OAUTH_* variables set by the installer.

# say MESSAGE: to the console (the serial log an operator reads) and to the log.
say() {
  read -r _up _ </proc/uptime || _up=?
  printf '[%s] ingot-installer: %s\n' "$_up" "$*" >>"$LOG"
  printf 'ingot-installer: [%s] %s\n' "$_up" "$*" >/dev/console 2>/dev/null ||
    printf 'ingot-installer: [%s] %s\n' "$_up" "$*" >&2
}

# die MESSAGE: ends the current step (a subshell) with MESSAGE as its error.
die() {
  printf '%s\n' "$*" >"$STATE/error"
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# note MESSAGE: the description of the current step's finish event.
note() {
  printf '%s\n' "$*" >"$STATE/note"
  printf '%s\n' "$*"
}

# warn MESSAGE: finish the current step with WARN instead of SUCCESS (it still goes on).
warn() {
  printf '%s\n' "$*" >>"$STATE/warn"
  printf 'WARNING: %s\n' "$*"
}

oauth() { ingot_oauth_header "$OAUTH_CONSUMER" "$OAUTH_TOKEN" "$OAUTH_SECRET"; }

# Retries: curl's own backoff (no --retry-delay), waiting 1, 2, 4, 8, 16 s between attempts: 31 s
# for fetches and posts (--retry 5), 15 s for events (--retry 4). That outlasts a rack agent's
# restart and a controller failover behind the metadata proxy; a fixed 1 s delay (6 s in all)
# did not, and the machine failed its deploy for a restart (issue 7's chaos runs).

# fetch_metadata PATH FILE: GET <metadata>PATH with the machine's token into FILE.
fetch_metadata() {
  curl -fsS --max-time 60 --retry 5 --retry-all-errors \
    -H "Authorization: $(oauth)" -o "$2" "${METADATA}$1"
}

# post_metadata PATH FILE: POST FILE (JSON) to <metadata>PATH with the machine's token.
post_metadata() {
  curl -fsS --max-time 60 --retry 5 --retry-all-errors -o /dev/null \
    -H "Authorization: $(oauth)" -H 'Content-Type: application/json' \
    --data-binary "@$2" "${METADATA}$1"
}

# post_event TYPE NAME RESULT DESCRIPTION [DONE TOTAL]: one reporting event. RESULT is empty for
# start events. A FAIL event carries the log's tail (base64) in `files`. Never fails the caller:
# reporting must not turn a good install into a failed one. Each event carries a fresh `id`
# (a random UUID) in its body, so curl's retries resend the same id and the controller stores
# an event it had already committed (before the connection broke) only once.
post_event() {
  _files='[]'
  _id=$(cat /proc/sys/kernel/random/uuid 2>/dev/null) || _id=''
  if [ "$3" = FAIL ]; then
    _files=$(tail -c 8192 "$LOG" | base64 -w0 | jq -Rc '[{path: "installer.log", encoding: "base64", content: .}]')
  fi
  if ! jq -cn --arg type "$1" --arg name "$2" --arg result "$3" --arg description "$4" \
    --arg done "${5:-}" --arg total "${6:-}" --argjson files "$_files" --arg id "$_id" \
    --argjson timestamp "$(date +%s.%3N)" '
    {event_type: $type, origin: "ingot-installer", name: $name, description: $description,
     timestamp: $timestamp}
    + (if $id == "" then {} else {id: $id} end)
    + (if $result == "" then {} else {result: $result} end)
    + (if $done == "" then {} else {progress: {done: ($done | tonumber), total: ($total | tonumber)}} end)
    + (if $files == [] then {} else {files: $files} end)' |
    curl -fsS --max-time 20 --retry 4 --retry-all-errors -o /dev/null \
      -H "Authorization: $(oauth)" -H 'Content-Type: application/json' \
      --data-binary @- "$STATUS_URL" >>"$LOG" 2>&1; then
    say "could not post $1 $2 ${3:-} to the metadata service"
  fi
}

# fail_step NAME ERROR: the FAIL event, then power off. Does not return.
fail_step() {
  say "step $1 FAILED: $2"
  post_event finish "$1" FAIL "$1 failed: $2"
  power_action poweroff
  exit 1
}

# run_step NAME DESCRIPTION FUNCTION: start event, FUNCTION in a subshell with `set -e` (its
# output goes to the log), finish event with its note (SUCCESS, or WARN after `warn`), or
# fail_step with the error it died with.
run_step() {
  rm -f "$STATE/error" "$STATE/note" "$STATE/warn"
  say "step $1: $2"
  post_event start "$1" "" "$2"
  (
    set -e
    "$3"
  ) >>"$LOG" 2>&1
  _rc=$?
  if [ "$_rc" -ne 0 ]; then
    _err=$(tail -n 1 "$STATE/error" 2>/dev/null)
    [ -n "$_err" ] || _err="exit status $_rc: $(tail -n 1 "$LOG")"
    fail_step "$1" "$_err"
  fi
  _desc=$(cat "$STATE/note" 2>/dev/null || true)
  [ -n "$_desc" ] || _desc=$2
  if [ -s "$STATE/warn" ]; then
    post_event finish "$1" WARN "$_desc; $(tr '\n' ';' <"$STATE/warn")"
  else
    post_event finish "$1" SUCCESS "$_desc"
  fi
  say "step $1 done: $_desc"
}

# progress_start STEP DESCRIPTION TOTAL COMMAND: every 2 s, `start` events of STEP carrying
# progress {done: <COMMAND's output>, total: TOTAL} until progress_stop (at most 6 hours).
progress_start() {
  rm -f "$STATE/progress-stop"
  (
    _n=0
    while [ "$_n" -lt 43200 ]; do
      _n=$((_n + 1))
      # Ticks of 0.5 s so that progress_stop returns quickly; a post every fourth tick.
      sleep 0.5
      [ -e "$STATE/progress-stop" ] && break
      [ $((_n % 4)) -eq 0 ] || continue
      _done=$(eval "$4" 2>/dev/null)
      case "$_done" in '' | *[!0-9]*) continue ;; esac
      [ "$_done" -le "$3" ] || _done=$3
      post_event start "$1" "" "$2" "$_done" "$3"
    done
  ) &
  PROGRESS_PID=$!
}

# progress_stop: ends the progress loop after its current post (no event of it comes later).
progress_stop() {
  : >"$STATE/progress-stop"
  wait "$PROGRESS_PID" 2>/dev/null || true
}

# power_action reboot|poweroff: sync and act through the kernel (the ephemeral root has no init
# system; /proc/sysrq-trigger works for root whatever kernel.sysrq says). INGOT_POWER=none skips.
power_action() {
  say "$1"
  sync
  [ "${INGOT_POWER:-}" = none ] && return 0
  if command -v "$1" >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    "$1" -f
  fi
  case "$1" in
    reboot) echo b >/proc/sysrq-trigger ;;
    *) echo o >/proc/sysrq-trigger ;;
  esac
  sleep 30
}
