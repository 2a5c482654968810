# shellcheck shell=sh
# Disks as the kernel sees them (/sys/block), without udev or lsblk.

# list_disks: names of block devices that are disks (not loop, ram, optical, zram, dm, md, nbd).
list_disks() {
  for _d in /sys/block/*; do
    [ -e "$_d" ] || continue
    _n=${_d##*/}
    case "$_n" in loop* | ram* | sr* | zram* | dm-* | md* | nbd* | fd*) continue ;; esac
    [ "$(cat "$_d/size")" -gt 0 ] || continue
    echo "$_n"
  done
}

# disk_size NAME: size in bytes of a disk or partition (sysfs counts 512-byte sectors whatever the
# logical block size).
disk_size() { echo $(($(cat "/sys/class/block/$1/size") * 512)); }

# disk_removable NAME: 0 or 1.
disk_removable() { cat "/sys/block/$1/removable" 2>/dev/null || echo 0; }

# disk_partitions NAME: /dev paths of the partitions the kernel knows on disk NAME.
disk_partitions() {
  for _p in "/sys/block/$1/$1"*; do
    [ -e "$_p/partition" ] && echo "/dev/${_p##*/}"
  done
  return 0
}

# partition_path DISK N: /dev/vda 3 → /dev/vda3, /dev/nvme0n1 3 → /dev/nvme0n1p3.
partition_path() {
  case "$1" in
    *[0-9]) echo "${1}p$2" ;;
    *) echo "$1$2" ;;
  esac
}

# mib BYTES: whole MiB, rounded down, for messages.
mib() { echo $(($1 / 1048576)); }

# wait_for_block PATH: up to 10 s for the kernel to create a device node (devtmpfs, no udev).
wait_for_block() {
  _n=0
  while [ ! -b "$1" ]; do
    _n=$((_n + 1))
    [ "$_n" -le 100 ] || return 1
    sleep 0.1
  done
}

# wipe_disk /dev/NAME: signatures of every partition and of the disk, then both GPT headers and
# the protective MBR (sgdisk --zap-all), then the first and last MiB in case a table sgdisk
# does not know was there.
wipe_disk() {
  _name=${1#/dev/}
  for _p in $(disk_partitions "$_name"); do
    wipefs -a "$_p" || true
  done
  wipefs -a "$1"
  sgdisk --zap-all "$1" >/dev/null 2>&1 || true
  _size=$(disk_size "$_name")
  _mib=$((_size / 1048576))
  dd if=/dev/zero of="$1" bs=1M count=1 conv=fsync status=none
  if [ "$_mib" -gt 2 ]; then
    dd if=/dev/zero of="$1" bs=1M seek=$((_mib - 1)) count=1 conv=fsync status=none
  fi
  blockdev --rereadpt "$1" 2>/dev/null || partx -d "$1" 2>/dev/null || true
}
