# shellcheck shell=sh
# purpose=install: storage, image, bootloader, cloud-init, customisation, reboot. Each step runs
# in a subshell (run_step), so what later steps need goes through files in $STATE.

# The partitions in front of the root: 1 MiB alignment gap, 1 MiB BIOS boot, 64 MiB ESP, and the
# backup GPT at the end.
LAYOUT_OVERHEAD_BYTES=$((68 * 1048576))

cfg() { jq -r "$1" "$CONFIG"; }

# image_need_bytes: the smallest disk the image fits: the partitions plus the root image
# (squashfs and tarballs expand: assume 3× their size, and at least 64 MiB of root).
image_need_bytes() {
  _size=$(cfg '.image.root_image.size_bytes // 0')
  case "$(cfg '.image.root_image.format // "squashfs"')" in
    raw) echo "$_size" ;;
    *)
      _root=$((_size * 3))
      [ "$_root" -ge $((64 * 1048576)) ] || _root=$((64 * 1048576))
      echo $((LAYOUT_OVERHEAD_BYTES + _root))
      ;;
  esac
}

step_storage() {
  [ "$(cfg '.image != null')" = true ] || die "the install config names no image"
  format=$(cfg '.image.root_image.format')
  need=$(image_need_bytes)
  want=$(cfg '.storage.disk // "auto"')
  disk=''
  if [ "$want" = auto ]; then
    sizes=''
    for d in $(list_disks); do
      [ "$(disk_removable "$d")" = 0 ] || continue
      size=$(disk_size "$d")
      sizes="$sizes ${d}=$(mib "$size")MiB"
      if [ "$size" -ge "$need" ]; then
        disk=/dev/$d
        break
      fi
    done
    [ -n "$disk" ] ||
      die "no disk is large enough: the image needs $(mib "$need") MiB, disks:${sizes:- none}"
  else
    disk=$want
    [ -b "$disk" ] || die "storage.disk ${disk} is not a block device"
    size=$(disk_size "${disk#/dev/}")
    [ "$size" -ge "$need" ] ||
      die "disk ${disk} ($(mib "$size") MiB) is smaller than the image needs ($(mib "$need") MiB)"
  fi
  echo "$disk" >"$STATE/disk"
  echo "wiping ${disk}"
  wipe_disk "$disk"
  if [ "$format" = raw ]; then
    note "${disk} wiped; the raw image brings its own partition table"
    return 0
  fi
  sgdisk -a 2048 -n 1:2048:+1M -t 1:EF02 -c 1:bios-boot \
    -n 2:0:+64M -t 2:EF00 -c 2:esp \
    -n 3:0:0 -t 3:8300 -c 3:root "$disk"
  partx -u "$disk" 2>/dev/null || blockdev --rereadpt "$disk" || true
  esp=$(partition_path "$disk" 2)
  root=$(partition_path "$disk" 3)
  wait_for_block "$esp" || die "no ${esp} after partitioning"
  wait_for_block "$root" || die "no ${root} after partitioning"
  mkfs.vfat -F 32 -n ESP "$esp" >/dev/null
  mkfs.ext4 -F -q -L root "$root"
  mkdir -p "$TARGET"
  mount "$root" "$TARGET"
  mkdir -p "$TARGET/boot/efi"
  mount "$esp" "$TARGET/boot/efi"
  echo "$esp" >"$STATE/esp"
  echo "$root" >"$STATE/root"
  root_bytes=$(disk_size "${root#/dev/}")
  note "GPT on ${disk}: BIOS boot 1 MiB, ESP 64 MiB, root $(mib "$root_bytes") MiB (ext4)"
}

# file_size PATH: bytes, 0 when missing.
file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# target_used: bytes in use on the target root filesystem.
target_used() { df -B1 --output=used "$TARGET" | tail -n 1 | tr -d ' '; }

step_image() {
  disk=$(cat "$STATE/disk")
  path=$(cfg '.image.root_image.path')
  sha=$(cfg '.image.root_image.sha256')
  total=$(cfg '.image.root_image.size_bytes')
  format=$(cfg '.image.root_image.format')
  url="${AGENT}/${path#/}"
  file=$WORK/root-image
  desc="writing $(cfg '.image.os')/$(cfg '.image.release')/$(cfg '.image.arch') (${format}, $(mib "$total") MiB) to ${disk}"
  echo "downloading ${url}"
  progress_start install.image "downloading the root image" "$total" "file_size '$file'"
  curl -fsS --retry 5 --retry-all-errors -o "$file" "$url" ||
    {
      progress_stop
      die "downloading ${url} failed"
    }
  progress_stop
  got=$(sha256sum "$file" | cut -d' ' -f1)
  [ "$got" = "$sha" ] || die "root image sha256 ${got} is not ${sha}"
  post_event start install.image "" "downloaded the root image" "$total" "$total"
  case "$format" in
    squashfs)
      # Uncompressed size: the sum of the sizes unsquashfs lists (ls -l style, size in column 3).
      unpacked=$(unsquashfs -lls "$file" | awk '$3 ~ /^[0-9]+$/ { s += $3 } END { printf "%d", s }')
      free=$(df -B1 --output=avail "$TARGET" | tail -n 1 | tr -d ' ')
      [ "$unpacked" -lt "$free" ] ||
        die "the image needs $(mib "$unpacked") MiB, the root filesystem has $(mib "$free") MiB free"
      base=$(target_used)
      progress_start install.image "$desc" "$unpacked" "echo \$((\$(target_used) - $base))"
      unsquashfs -f -n -d "$TARGET" "$file" >/dev/null || {
        progress_stop
        die "unsquashfs failed"
      }
      progress_stop
      post_event start install.image "" "$desc" "$unpacked" "$unpacked"
      ;;
    tar)
      base=$(target_used)
      progress_start install.image "$desc" "$total" "echo \$((\$(target_used) - $base))"
      tar -xpf "$file" -C "$TARGET" --numeric-owner || {
        progress_stop
        die "extracting the tarball failed"
      }
      progress_stop
      ;;
    raw)
      case "$path" in
        *.xz) cat_cmd="xz -dc" ;;
        *.gz) cat_cmd="gzip -dc" ;;
        *.zst) cat_cmd="zstd -dc" ;;
        *) cat_cmd=cat ;;
      esac
      $cat_cmd "$file" | dd of="$disk" bs=4M conv=fsync status=none || die "writing ${disk} failed"
      partx -u "$disk" 2>/dev/null || blockdev --rereadpt "$disk" || true
      ;;
    *) die "unknown root image format '${format}'" ;;
  esac
  rm -f "$file"
  sync
  note "$desc: done"
}

# mount_target_api: /dev, /proc, /sys of the ephemeral environment inside the target, for chroot.
mount_target_api() {
  for _m in dev proc sys; do
    mkdir -p "$TARGET/$_m"
    mountpoint -q "$TARGET/$_m" || mount --bind "/$_m" "$TARGET/$_m"
  done
}

umount_target() {
  for _m in sys proc dev boot/efi ''; do
    mountpoint -q "$TARGET/$_m" 2>/dev/null && umount "$TARGET/$_m" 2>/dev/null ||
      umount -l "$TARGET/$_m" 2>/dev/null || true
  done
  return 0
}

# target_root_mounted: true when $TARGET holds the installed root. A raw image brings its own
# partitions: mount the first one with an /etc (the root) so it can be seeded.
target_root_mounted() {
  mountpoint -q "$TARGET" && return 0
  disk=$(cat "$STATE/disk")
  mkdir -p "$TARGET"
  for p in $(disk_partitions "${disk#/dev/}"); do
    if mount "$p" "$TARGET" 2>/dev/null; then
      [ -d "$TARGET/etc" ] && return 0
      umount "$TARGET"
    fi
  done
  return 1
}

step_cloud_init() {
  target_root_mounted || {
    warn "no root filesystem with /etc found on the disk: cloud-init not seeded"
    return 0
  }
  metadata_url=$(cfg ".cloud_init.metadata_url // \"$METADATA\"")
  token=$(cfg ".cloud_init.token // \"$TOKEN\"")
  hostname=$(cfg '.hostname // .machine_id')
  mkdir -p "$TARGET/etc/cloud/cloud.cfg.d"
  {
    ingot_cloud_datasource "$metadata_url" "$token" "$MACHINE"
    echo "preserve_hostname: false"
    echo "hostname: \"$hostname\""
    echo "ssh_authorized_keys:"
    jq -r '.ssh_keys // [] | .[] | "  - " + (. | tojson)' "$CONFIG"
  } >"$TARGET/etc/cloud/cloud.cfg.d/90_ingot.cfg"
  chmod 0600 "$TARGET/etc/cloud/cloud.cfg.d/90_ingot.cfg"
  echo "$hostname" >"$TARGET/etc/hostname"
  if [ -f "$TARGET/etc/hosts" ] && ! grep -q "127.0.1.1" "$TARGET/etc/hosts"; then
    echo "127.0.1.1 $hostname" >>"$TARGET/etc/hosts"
  fi
  note "cloud-init: MAAS datasource ${metadata_url}, hostname ${hostname}, $(jq '.ssh_keys // [] | length' "$CONFIG") SSH key(s)"
}

step_customise() {
  done_what=''
  target_root_mounted || {
    warn "no root filesystem with /etc found on the disk: customisation skipped"
    return 0
  }
  n=$(cfg '.customisation.files // [] | length')
  i=0
  while [ "$i" -lt "$n" ]; do
    p=$(cfg ".customisation.files[$i].path")
    mode=$(cfg ".customisation.files[$i].mode // \"0644\"")
    case "$p" in /*) ;; *) die "customisation file path ${p} is not absolute" ;; esac
    mkdir -p "$TARGET$(dirname "$p")"
    cfg ".customisation.files[$i].content_base64" | base64 -d >"$TARGET$p"
    chmod "$mode" "$TARGET$p"
    i=$((i + 1))
  done
  [ "$n" -eq 0 ] || done_what="$n file(s)"
  packages=$(cfg '.customisation.packages // [] | join(" ")')
  ncmd=$(cfg '.customisation.commands // [] | length')
  if [ -n "$packages" ] || [ "$ncmd" -gt 0 ]; then
    mount_target_api
    # The target's resolver config may be a dangling symlink (systemd-resolved) outside its own
    # boot: use the ephemeral environment's while customising, then put it back.
    if [ -e "$TARGET/etc/resolv.conf" ] || [ -L "$TARGET/etc/resolv.conf" ]; then
      mv "$TARGET/etc/resolv.conf" "$WORK/target-resolv.conf"
    fi
    cp -L /etc/resolv.conf "$TARGET/etc/resolv.conf" 2>/dev/null || : >"$TARGET/etc/resolv.conf"
  fi
  if [ -n "$packages" ]; then
    if [ ! -x "$TARGET/usr/bin/apt-get" ]; then
      warn "packages skipped (${packages}): the image has no apt-get"
    elif ! chroot "$TARGET" apt-get update -q; then
      warn "packages skipped (${packages}): apt-get update failed (no network to the mirrors?)"
    else
      # shellcheck disable=SC2086 # one word per package
      chroot "$TARGET" apt-get install -y -q --no-install-recommends $packages ||
        die "apt-get install ${packages} failed"
      done_what="${done_what:+$done_what, }packages ${packages}"
    fi
  fi
  i=0
  while [ "$i" -lt "$ncmd" ]; do
    c=$(cfg ".customisation.commands[$i]")
    echo "running in the target: $c"
    chroot "$TARGET" /bin/sh -c "$c" || die "customisation command $((i + 1)) failed: $c"
    i=$((i + 1))
  done
  [ "$ncmd" -eq 0 ] || done_what="${done_what:+$done_what, }$ncmd command(s)"
  if [ -e "$WORK/target-resolv.conf" ] || [ -L "$WORK/target-resolv.conf" ]; then
    rm -f "$TARGET/etc/resolv.conf"
    mv "$WORK/target-resolv.conf" "$TARGET/etc/resolv.conf"
  elif [ -n "$packages" ] || [ "$ncmd" -gt 0 ]; then
    rm -f "$TARGET/etc/resolv.conf"
  fi
  note "customisation: ${done_what:-nothing to do}"
}

run_install() {
  run_step install.storage "partitioning the disk" step_storage
  run_step install.image "writing the root image" step_image
  run_step install.bootloader "installing GRUB (BIOS and UEFI)" step_bootloader
  run_step install.cloud-init "seeding cloud-init" step_cloud_init
  run_step install.customise "applying customisation" step_customise
  say "step install.reboot: rebooting into the installed system"
  post_event start install.reboot "" "rebooting into the installed system"
  umount_target
  sync
  post_event finish install.reboot SUCCESS "rebooting into the installed system"
}
