# shellcheck shell=sh
# purpose=erase: every disk, quick (signatures and partition tables) or full (every byte zeroed).

# zero_tail /dev/NAME SIZE: zeros over the last SIZE % 1 MiB bytes (disks are whole sectors).
zero_tail() {
  _rest=$(($2 % 1048576 / 512))
  if [ "$_rest" -gt 0 ]; then
    dd if=/dev/zero of="$1" bs=512 seek=$(($2 / 512 - _rest)) count="$_rest" status=none
  fi
}

step_erase() {
  mode=$(jq -r '.erase // "quick"' "$CONFIG")
  [ "$mode" != none ] || mode=quick
  disks=$(list_disks)
  [ -n "$disks" ] || {
    note "no disks to erase"
    return 0
  }
  total=0
  for d in $disks; do total=$((total + $(disk_size "$d"))); done
  case "$mode" in
    quick)
      for d in $disks; do wipe_disk "/dev/$d"; done
      ;;
    full)
      done_before=0
      for d in $disks; do
        size=$(disk_size "$d")
        wipe_disk "/dev/$d"
        dd if=/dev/zero of="/dev/$d" bs=1M count=$((size / 1048576)) oflag=direct status=none &
        pid=$!
        # Bytes written so far: the dd's write counter.
        progress_start erase "zeroing /dev/$d" "$total" \
          "echo \$(($done_before + \$(awk '/^wchar/ { print \$2 }' /proc/$pid/io)))"
        wait "$pid" || {
          progress_stop
          die "zeroing /dev/$d failed"
        }
        zero_tail "/dev/$d" "$size"
        sync
        progress_stop
        done_before=$((done_before + size))
        post_event start erase "" "zeroed /dev/$d" "$done_before" "$total"
      done
      ;;
    *) die "unknown erase mode '${mode}'" ;;
  esac
  note "${mode} erase of $(echo "$disks" | wc -w) disk(s), $(mib "$total") MiB: $(echo $disks | sed 's/ /, /g')"
}

run_erase() {
  # Success ends the release (the machine becomes ready and the token stops working): it is the
  # last event.
  run_step erase "erasing disks" step_erase
}
