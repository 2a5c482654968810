# shellcheck shell=sh
# purpose=commission: hardware facts (deploy-contract.md "Hardware facts") from /proc and /sys.

# memory_mib: RAM the machine has. The online memory blocks add up to the installed size (a
# 1024 MiB VM has eight 128 MiB blocks), where MemTotal lacks what the firmware and kernel keep.
memory_mib() {
  _bs_hex=$(cat /sys/devices/system/memory/block_size_bytes 2>/dev/null || true)
  if [ -n "$_bs_hex" ]; then
    _blocks=$(grep -l '^online' /sys/devices/system/memory/memory*/state 2>/dev/null | wc -l)
    if [ "$_blocks" -gt 0 ]; then
      echo $((_blocks * $(printf '%d' "0x$_bs_hex") / 1048576))
      return 0
    fi
  fi
  awk '/^MemTotal:/ { printf "%d\n", $2 / 1024 }' /proc/meminfo
}

# sysfs_text PATH: a sysfs attribute with surrounding blanks removed, empty when missing.
sysfs_text() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$1" 2>/dev/null || true; }

gather_facts() {
  cpus=$(grep -c '^processor' /proc/cpuinfo)
  disks='[]'
  for d in $(list_disks); do
    model=$(sysfs_text "/sys/block/$d/device/model")
    serial=$(sysfs_text "/sys/block/$d/serial")
    [ -n "$serial" ] || serial=$(sysfs_text "/sys/block/$d/device/serial")
    disks=$(printf '%s' "$disks" | jq -c --arg name "$d" --argjson size "$(disk_size "$d")" \
      --arg model "$model" --arg serial "$serial" \
      '. + [{name: $name, size_bytes: $size, model: $model, serial: $serial}]')
  done
  nics='[]'
  for n in /sys/class/net/*; do
    [ -e "$n/device" ] || continue # lo, bridges, tunnels: not hardware
    nics=$(printf '%s' "$nics" | jq -c --arg name "${n##*/}" --arg mac "$(cat "$n/address")" \
      '. + [{name: $name, mac: $mac}]')
  done
  jq -n --argjson cpu "$cpus" --argjson mem "$(memory_mib)" --argjson disks "$disks" \
    --argjson nics "$nics" '{cpu_count: $cpu, memory_mib: $mem, disks: $disks, nics: $nics}'
}

step_commission() {
  gather_facts >"$WORK/facts.json" || die "gathering hardware facts failed"
  cat "$WORK/facts.json"
  note "$(jq -r '"\(.cpu_count) CPU(s), \(.memory_mib) MiB, disks: \([.disks[] | "\(.name) \(.size_bytes / 1048576 | floor) MiB"] | join(", ")), NICs: \([.nics[] | "\(.name) \(.mac)"] | join(", "))"' "$WORK/facts.json")"
}

run_commission() {
  run_step commission "gathering hardware facts" step_commission
  # Posting the facts ends commissioning (the machine becomes ready and this token stops
  # working), so the step's finish event went first.
  if ! post_metadata latest/commissioning "$WORK/facts.json" >>"$LOG" 2>&1; then
    fail_step commission "POST ${METADATA}latest/commissioning failed"
  fi
  say "hardware facts posted"
}
