# shellcheck shell=sh
# install.bootloader: fstab, GRUB for BIOS (core.img in the BIOS boot partition) and UEFI
# (removable path EFI/BOOT/BOOTX64.EFI on the ESP, no NVRAM entry), and one grub.cfg both read.

# target_file NAME: the image's /boot/NAME (Debian with link_in_boot), else its /NAME symlink
# (Debian's default), else the newest /boot/NAME-*; printed as a path inside the target.
target_file() {
  if [ -e "$TARGET/boot/$1" ]; then
    echo "/boot/$1"
  elif [ -L "$TARGET/$1" ]; then
    _l=$(readlink "$TARGET/$1")
    case "$_l" in /*) echo "$_l" ;; *) echo "/$_l" ;; esac
  else
    _f=$(ls -1 "$TARGET/boot/$1"-* 2>/dev/null | sort -V | tail -n 1)
    [ -n "$_f" ] && echo "${_f#"$TARGET"}"
  fi
}

step_bootloader() {
  disk=$(cat "$STATE/disk")
  if [ "$(cfg '.image.root_image.format')" = raw ]; then
    note "raw image: it brings its own boot loader"
    return 0
  fi
  root=$(cat "$STATE/root")
  esp=$(cat "$STATE/esp")
  root_uuid=$(blkid -s UUID -o value "$root")
  esp_uuid=$(blkid -s UUID -o value "$esp")
  [ -n "$root_uuid" ] || die "no filesystem UUID on ${root}"
  kernel=$(target_file vmlinuz)
  initrd=$(target_file initrd.img)
  [ -n "$kernel" ] && [ -e "$TARGET$kernel" ] || die "the image has no kernel (/boot/vmlinuz*)"
  [ -n "$initrd" ] && [ -e "$TARGET$initrd" ] || die "the image has no initrd (/boot/initrd.img*)"
  mkdir -p "$TARGET/etc"
  cat >"$TARGET/etc/fstab" <<EOF_FSTAB
# Written by the Ingot installer.
UUID=$root_uuid / ext4 errors=remount-ro 0 1
UUID=$esp_uuid /boot/efi vfat umask=0077 0 1
EOF_FSTAB
  # No translations, fonts or themes: the menu is one entry on a serial console.
  grub-install --target=i386-pc --boot-directory="$TARGET/boot" --no-floppy \
    --locales= --fonts= --themes= "$disk" ||
    die "grub-install --target=i386-pc ${disk} failed"
  grub-install --target=x86_64-efi --efi-directory="$TARGET/boot/efi" \
    --boot-directory="$TARGET/boot" --removable --no-nvram --locales= --fonts= --themes= ||
    die "grub-install --target=x86_64-efi failed"
  cat >"$TARGET/boot/grub/grub.cfg" <<EOF_GRUB
# Written by the Ingot installer.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set default=0
set timeout=1
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root $root_uuid
menuentry '$(cfg '.image.os') $(cfg '.image.release') ($(cfg '.hostname // .machine_id'))' {
    linux $kernel root=UUID=$root_uuid ro console=tty0 console=ttyS0,115200
    initrd $initrd
}
EOF_GRUB
  note "GRUB for BIOS and UEFI on ${disk}: ${kernel} root=UUID=${root_uuid}"
}
