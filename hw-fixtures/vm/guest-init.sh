#!/bin/busybox sh
# /init of the vm-run.sh initramfs (reference/bus-protocols.md §7 step 2): mounts the host root
# read-only over 9p, loads the requested modules with the host's modprobe, runs /run/sp-vm-out/cmd.sh
# chrooted into the host root, writes its exit code to the shared run folder and powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

fail() { echo "vm-init: $*"; sync; poweroff -f; }
while read -r m; do
  insmod "/lib/modules/$m" || fail "insmod $m failed"
done < /lib/modules/load-order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose host /mnt || fail "mounting the host root failed"
mount -t proc proc /mnt/proc
mount -t sysfs sys /mnt/sys
mount -t devtmpfs dev /mnt/dev
mkdir -p /mnt/dev/pts /mnt/dev/shm 2>/dev/null
mount -t devpts devpts /mnt/dev/pts 2>/dev/null
mount -t tmpfs tmp /mnt/tmp
mount -t tmpfs run /mnt/run
mkdir -p /mnt/run/sp-vm-out
mount -t 9p -o trans=virtio,version=9p2000.L out /mnt/run/sp-vm-out || fail "mounting the run folder failed"
cwd=$(cat /mnt/run/sp-vm-out/cwd)
mkdir -p "/mnt$cwd" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose cwd "/mnt$cwd" || fail "mounting the working folder $cwd failed"
ip link set lo up 2>/dev/null

modules=$(cat /mnt/run/sp-vm-out/modules)
if [ -n "$modules" ]; then
  chroot /mnt /sbin/modprobe -a $modules || { echo 125 > /mnt/run/sp-vm-out/rc; fail "modprobe $modules failed"; }
fi
chroot /mnt /bin/sh /run/sp-vm-out/cmd.sh
echo $? > /mnt/run/sp-vm-out/rc
sync
umount /mnt/run/sp-vm-out 2>/dev/null
poweroff -f
