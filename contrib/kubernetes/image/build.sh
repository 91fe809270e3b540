#!/usr/bin/env bash
# Builds the OCI image the DaemonSets run, from the Debian package, with Debian's own tools (umoci, skopeo;
# no container daemon): contrib/kubernetes/image/build.sh [--deb FILE] [--output DIR]
#
# Two layers: the Debian libraries the program needs (libc, and libcurl with what it links, which kube-agent
# opens), then the package itself, so that an update of the program pulls one small layer. No shell, no
# package manager. The user is 65532 ("nonroot"); the daemon's container sets its own. Each package's control
# fields are in /var/lib/dpkg/status.d/ (as distroless images do), so image scanners see which Debian versions
# are inside. File times are the last commit's.
# Prints the path of the image as an OCI archive, mdev-reconciler_<version>_<arch>.oci.tar (default folder
# .build-image), whose reference is mdev-reconciler:<version>; the OCI layout beside it holds the same image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
output=$repo/.build-image
deb=""
while [ $# -gt 0 ]; do
    case $1 in
        --deb) deb=$2; shift 2 ;;
        --output) output=$2; shift 2 ;;
        *) echo "usage: $0 [--deb FILE] [--output DIR]" >&2; exit 2 ;;
    esac
done
log() { echo "build-image: $*" >&2; }

"$repo/contrib/setup.sh" umoci skopeo dpkg-dev >&2
[ -n "$deb" ] || deb=$("$repo/contrib/debian/build.sh")
deb=$(realpath "$deb")
version=$(dpkg-deb -f "$deb" Version)
arch=$(dpkg-deb -f "$deb" Architecture)
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)

work=$output/work
rm -rf "$work"
mkdir -p "$work/debs" "$work/base/var/lib/dpkg/status.d" "$work/program/var/lib/dpkg/status.d"

# The libraries: the package's Depends and libcurl4 (its Recommends: kube-agent opens it at run time), and
# everything they depend on, from this machine's apt sources (first alternative, no virtual packages).
roots=$( { dpkg-deb -f "$deb" Depends; echo ", libcurl4"; } | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/ //g' | sed '/^$/d' | sort -u)
packages=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances $roots | grep -v -e '^ ' -e '^<' | sort -u)
log "Debian packages: $(echo $packages)"
(cd "$work/debs" && apt-get download -q $packages >/dev/null 2>"$work/download.log") || { cat "$work/download.log" >&2; exit 1; }
for package in "$work"/debs/*.deb; do
    dpkg-deb -x "$package" "$work/base"
    dpkg-deb -f "$package" > "$work/base/var/lib/dpkg/status.d/$(dpkg-deb -f "$package" Package)"
done
# What a program that prints no manual and converts no character sets leaves unused: documentation but the
# licences, locales, glibc's iconv modules (UTF-8 is built in).
find "$work/base/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$work/base/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$work"/base/usr/share/{man,info,locale,lintian,bug} "$work/base/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/gconv"
# The loader's cache: the libraries live in the multiarch folders, which the loader finds only through it.
echo 'include /etc/ld.so.conf.d/*.conf' > "$work/base/etc/ld.so.conf"
ldconfig -r "$work/base"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin\n' > "$work/base/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$work/base/etc/group"
install -d -m 1777 "$work/base/tmp"

# The program: the package's files as dpkg installs them (its configuration example, unit and manual too:
# small, and the same files as on a host).
dpkg-deb -x "$deb" "$work/program"
dpkg-deb -f "$deb" > "$work/program/var/lib/dpkg/status.d/mdev-reconciler"
find "$work/base" "$work/program" -exec touch -h -d "@$epoch" {} +

layout=$output/oci
archive=$output/mdev-reconciler_${version}_${arch}.oci.tar
rm -rf "$layout" "$archive"
image=$layout:$version
umoci init --layout "$layout"
umoci new --image "$image"
umoci insert --image "$image" --history.created "$created" --history.created_by "Debian packages: $(echo $packages)" "$work/base" /
umoci insert --image "$image" --history.created "$created" --history.created_by "mdev-reconciler $version ($(basename "$deb"))" "$work/program" /
umoci config --image "$image" --created "$created" --architecture "$arch" --os linux --no-history \
    --config.user 65532:65532 --config.workingdir / \
    --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    --config.entrypoint /usr/sbin/mdev-reconciler --config.cmd --help \
    --config.label org.opencontainers.image.title=mdev-reconciler \
    --config.label org.opencontainers.image.version="$version" \
    --config.label org.opencontainers.image.revision="$revision" \
    --config.label org.opencontainers.image.created="$created"
umoci gc --layout "$layout"
skopeo copy --quiet "oci:$image" "oci-archive:$archive:mdev-reconciler:$version" >&2
rm -rf "$work"
log "$(basename "$archive"): $(du -k "$archive" | cut -f1) KiB"
echo "$archive"
