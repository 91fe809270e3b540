# The Debian package as an operator installs it: dpkg -i enables and starts the unit, whose shipped config
# manages nothing; the man pages render, the bash completion completes a command, the catalog is updated by
# systemd's trigger, the config is a conffile and --version is the package's version. Leaves the unit stopped.
# checks: 12
. /lib.sh
deb=/testbed/mdev-reconciler.deb
before=$(all_devices)
check "dpkg -i installs the package" sh -c "dpkg -i $deb > /tmp/dpkg-i.log 2>&1 || { cat /tmp/dpkg-i.log; exit 1; }"
check "the unit is enabled on install" systemctl is-enabled -q $unit
check "and started (active)" systemctl is-active -q $unit
check "the shipped config creates and removes nothing" [ "$(all_devices)" = "$before" ]
check "the shipped config is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' mdev-reconciler | grep -q ' /etc/mdev-reconciler/config.yaml '"
check "--version prints the package's version" [ "$($BIN --version)" = "$(dpkg-query -W -f='${Version}' mdev-reconciler)" ]
check "man mdev-reconciler renders, with every command and its examples" sh -c \
    "man -P cat mdev-reconciler 2>/dev/null > /tmp/man8 && for c in plan apply types validate status run; do grep -q \"mdev-reconciler \$c\" /tmp/man8 || exit 1; done && grep -q -- '--debounce' /tmp/man8"
check "man 5 mdev-reconciler-config renders the config format" sh -c \
    "man -P cat 5 mdev-reconciler-config 2>/dev/null | grep -q nodeMediatedDeviceTypes"
completion=$(bash -c '. /usr/share/bash-completion/bash_completion; . /usr/share/bash-completion/completions/mdev-reconciler
    COMP_WORDS=(mdev-reconciler va); COMP_CWORD=1; COMP_LINE="mdev-reconciler va"; COMP_POINT=${#COMP_LINE}
    _mdev-reconciler mdev-reconciler va mdev-reconciler; echo "${COMPREPLY[*]}"' 2>&1)
echo "completion of 'mdev-reconciler va': $completion"
check "the bash completion completes a command (va -> validate)" [ "$completion" = validate ]
check "the catalog is in journald's database without a manual update (dpkg trigger)" sh -c \
    "journalctl --list-catalog 2>/dev/null | grep -q 69c6fca13f81446ba44b82dfeee622fc"
check "the unit systemd runs is the package's, in /usr/lib/systemd/system" sh -c \
    "dpkg -L mdev-reconciler | grep -qx /usr/lib/systemd/system/$unit && [ \"\$(readlink -f \"\$(systemctl show -p FragmentPath --value $unit)\")\" = /usr/lib/systemd/system/$unit ]"
check "systemctl stop" systemctl stop $unit
