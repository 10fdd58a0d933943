#!/usr/bin/env bash
# Creates the base images the Dockerfiles start from, debian:bookworm and
# debian:bookworm-slim, when the Docker engine does not have them and cannot
# pull them (no registry here). Where they can be pulled, it pulls them and
# builds nothing.
#
#   hack/base-images.sh
#
# Both come from one debootstrap of Debian 12 (minbase variant, Debian's own
# mirror and keyring); the slim one drops documentation, man pages and
# locales, as the official slim image does. The root file systems are cached
# as tarballs under ~/.cache/ember/images, so a new Docker engine on the same
# cache imports them in seconds.
set -euo pipefail

readonly SUITE=bookworm
readonly MIRROR=${EMBER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly CACHE=${EMBER_CACHE_DIR:-$HOME/.cache/ember}/images

log() { echo "base-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker is required"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (docker info failed)"

have() { docker image inspect "$1" >/dev/null 2>&1; }
# Where a registry answers, the public images are the ones to use; a pull
# that fails (no registry here) falls through to debootstrap.
for tag in "debian:$SUITE" "debian:$SUITE-slim"; do
  have "$tag" || timeout 300 docker pull -q "$tag" >/dev/null 2>&1 || log "cannot pull $tag; building it"
done
if have "debian:$SUITE" && have "debian:$SUITE-slim"; then
  log "debian:$SUITE and debian:$SUITE-slim present"
  exit 0
fi

# debootstrap and the root file system it makes need root.
if [[ $(id -u) -ne 0 ]]; then
  log "debootstrap needs root: running again with sudo"
  exec sudo --preserve-env=HOME,EMBER_CACHE_DIR,EMBER_DEBIAN_MIRROR,TMPDIR bash "$0" "$@"
fi

full=$CACHE/debian-$SUITE.tar
slim=$CACHE/debian-$SUITE-slim.tar
if [[ ! -s $full || ! -s $slim ]]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      debootstrap debian-archive-keyring >/dev/null
  fi
  mkdir -p "$CACHE"
  work=$(mktemp -d "${TMPDIR:-/tmp}/ember-rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  root=$work/rootfs
  log "debootstrap $SUITE from $MIRROR (a few minutes)"
  debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
  # As in Debian's images: no package caches in layers, no recommends.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/* "$root"/tmp/*
  tar --numeric-owner -C "$root" -cf "$full.tmp" .
  mv "$full.tmp" "$full"
  # Slim: what the official bookworm-slim leaves out, with dpkg told to keep
  # leaving it out when packages are installed later.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar --numeric-owner -C "$root" -cf "$slim.tmp" .
  mv "$slim.tmp" "$slim"
fi

import() {
  local tar=$1 tag=$2
  have "$tag" && return 0
  docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' \
    --message "debootstrap --variant=minbase $SUITE (hack/base-images.sh)" "$tar" "$tag" >/dev/null
  log "imported $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}'))"
}
import "$full" "debian:$SUITE"
import "$slim" "debian:$SUITE-slim"
