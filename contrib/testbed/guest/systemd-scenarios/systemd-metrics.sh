# The metrics as Prometheus reads them: the hardened unit writes its textfile into Debian's collector
# directory (ReadWritePaths=, a file node_exporter's own user can read despite UMask=0077), and Debian's
# prometheus-node-exporter, running as packaged under its own user, serves the daemon's series on its
# /metrics, fetched here over the guest's loopback, with the values of what the daemon did.
# checks: 12
. /lib.sh
collector=/var/lib/prometheus/node-exporter
metrics_file=$collector/mdev-reconciler.prom
# node_exporter's /metrics, fetched with bash's /dev/tcp (no HTTP client in the guest).
scrape() {
    bash -c 'exec 3<>/dev/tcp/127.0.0.1/9100 && printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' \
        > /tmp/scrape.txt 2>/dev/null
}
# served <name> <value> [label="value"...]: /metrics has a line for <name> with every label given and
# <value> (compared as numbers: node_exporter prints large values as 1.7e+09; it sorts the labels by name,
# so each is looked for on its own).
served() {
    local name=$1 value=$2
    shift 2
    scrape || return 1
    awk -v name="$name" -v value="$value" -v labels="$*" '
        { split($0, parts, " "); series = parts[1]; sub(/\{.*/, "", series) }
        series != name { next }
        { n = split(labels, wanted, " "); ok = 1
          for (i = 1; i <= n; i++) if (index($0, wanted[i]) == 0) ok = 0
          if (ok && $NF + 0 == value + 0 && value != "") found = 1 }
        END { exit !found }' /tmp/scrape.txt
}
# What systemd says about a unit that did not start, for the console.
explain() {
    systemctl is-active -q $unit && return 0
    systemctl status $unit --no-pager 2>&1 | tail -n 15 | sed 's/^/    status: /'
    journalctl -q --no-pager -u $unit -n 30 | sed 's/^/    journal: /'
}

echo 'ARGS="--web.listen-address=127.0.0.1:9100 --collector.textfile.directory=/var/lib/prometheus/node-exporter"' \
    > /etc/default/prometheus-node-exporter
systemctl restart prometheus-node-exporter
exporter_user() { ps -o user= -p "$(systemctl show -p MainPID --value prometheus-node-exporter)" | tr -d ' '; }
check "Debian's node_exporter runs as its own user (here $(exporter_user))" \
    all_of "systemctl is-active -q prometheus-node-exporter" "[ \"\$(exporter_user)\" = prometheus ]"
check "and serves /metrics on the loopback" wait_until 30 served node_textfile_scrape_error 0

write_config /etc/mdev-reconciler/config.yaml mtty-2
rm -f "$metrics_file"
systemctl start $unit
explain
wait_until 60 has_devices mtty mtty-2 12
check "the unit writes its metrics file in the collector directory" wait_until 20 test -s "$metrics_file"
check "readable by others despite UMask=0077 (mode $(stat -c %a "$metrics_file" 2>/dev/null))" [ "$(stat -c %a "$metrics_file" 2>/dev/null)" = 644 ]
# node_exporter reports each textfile it read (node_textfile_mtime_seconds) and whether one did not parse.
read_ours() { served node_textfile_scrape_error 0 && grep -q '^node_textfile_mtime_seconds{file="[^"]*mdev-reconciler.prom"}' /tmp/scrape.txt; }
check "node_exporter reads it, without error" wait_until 20 read_ours
check "and serves the devices by parent, type and owner (12 of ours, free)" wait_until 20 served mdev_reconciler_devices 12 \
    'parent="mtty"' 'type="mtty-2"' 'owner="ours"' 'in_use="false"'
check "the wanted devices" served mdev_reconciler_wanted_devices 12 'parent="mtty"' 'type="mtty-2"'
check "the first pass, counted under start" served mdev_reconciler_passes_total 1 'trigger="start"'
check "the daemon running, and the version built" \
    all_of "served mdev_reconciler_daemon_running 1" "served mdev_reconciler_build_info 1 'version=\"$($BIN --version)\"'"

write_config /etc/mdev-reconciler/config.yaml mtty-1
systemctl reload $unit
wait_until 60 has_devices mtty mtty-1 24
check "a reload is counted and the new config generation served" wait_until 20 all_of \
    "served mdev_reconciler_passes_total 1 'trigger=\"reload\"'" "served mdev_reconciler_config_generation 2" \
    "served mdev_reconciler_devices 24 'type=\"mtty-1\"' 'owner=\"ours\"'"
check "the time of the last converged pass is served as written" \
    served mdev_reconciler_last_converged_timestamp_seconds "$(sed -n 's/^mdev_reconciler_last_converged_timestamp_seconds //p' "$metrics_file")"

systemctl stop $unit
check "after systemctl stop, the file says the daemon stopped" wait_until 20 served mdev_reconciler_daemon_running 0
systemctl stop prometheus-node-exporter
