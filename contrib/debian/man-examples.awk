# Turns the command line's help texts, as swift-argument-parser's manual generator copies them into
# mdev-reconciler(8), into mdoc: blank lines become paragraph breaks, each "Examples:" block a literal
# display (its lines as typed, not filled into one paragraph); then FILES and SEE ALSO are added.
/^Examples:$/ { print ".Pp"; print "Examples:"; print ".Bd -literal -offset indent"; examples = 1; next }
examples && /^\./ { print ".Ed"; examples = 0 }
examples { sub(/^  /, ""); print; next }
/^$/ { print ".Pp"; next }
{ print }
END {
    if (examples) print ".Ed"
    print ".Sh FILES"
    print ".Bl -tag -width 6n"
    print ".It Pa /etc/mdev-reconciler/config.yaml"
    print "The config, in KubeVirt's mediatedDevicesConfiguration schema; see"
    print ".Xr mdev-reconciler-config 5 ."
    print ".It Pa /etc/mdev-reconciler/labels"
    print "The host's labels, one key=value per line, when the file exists."
    print ".It Pa /run/mdev-reconciler/status.json"
    print "The daemon's status, which status reads."
    print ".It Pa /var/lib/mdev-reconciler/nvidia-vgpu.json"
    print "The vGPUs this program configured in NVIDIA's vendor-specific mode."
    print ".El"
    print ".Sh SEE ALSO"
    print ".Xr mdev-reconciler-config 5 ,"
    print ".Xr journalctl 1 ,"
    print ".Xr systemctl 1"
}
