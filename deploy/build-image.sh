#!/usr/bin/env bash
# Builds deploy/Dockerfile, unmodified, with podman (or buildah) on a machine that cannot pull from
# Docker Hub: when the base image the Dockerfile names is not present, it makes a stand-in for it
# first, a Debian bookworm root filesystem (debootstrap --variant=minbase) holding this machine's
# node and npm, imported under that name. A real base image, when present, is used as it is.
#
#   deploy/build-image.sh [TAG]          default TAG: ringcache:latest
#
# Environment:
#   RINGCACHE_REBUILD_BASE=1   make the stand-in base image again even when one is present
#   DEBIAN_MIRROR              where debootstrap fetches from (default: this machine's apt source)
#
# npm inside the build trusts the registry's certificate chain the way this machine's npm does: the
# file `npm config get cafile` names is handed to the build as a secret (a file mounted for one RUN),
# never copied into a layer; the registry is `npm config get registry`.
#
# Needs root (debootstrap, and podman's chroot isolation: this kernel's cgroups refuse crun's).
set -euo pipefail

tag="${1:-ringcache:latest}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dockerfile="$repo/deploy/Dockerfile"

say() { printf 'build-image: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

if command -v podman >/dev/null; then
  tool=podman
elif command -v buildah >/dev/null; then
  tool=buildah
else
  die "needs podman or buildah (Debian: apt-get install podman debootstrap)"
fi

# The base image: the default of the Dockerfile's NODE_IMAGE argument, as a fully qualified name,
# since a short name could resolve to another registry.
base="$(sed -n 's/^ARG NODE_IMAGE=//p' "$dockerfile" | head -n1)"
[ -n "$base" ] || die "no 'ARG NODE_IMAGE=' in $dockerfile"
case "$base" in
  */*) ;;
  *) base="docker.io/library/$base" ;;
esac

image_exists() {
  if [ "$tool" = podman ]; then podman image exists "$1"; else buildah inspect --type image "$1" >/dev/null 2>&1; fi
}

make_base() {
  command -v debootstrap >/dev/null || die "no $base, and making one needs debootstrap (apt-get install debootstrap)"
  [ "$(id -u)" = 0 ] || die "making the base image needs root (debootstrap)"
  local node npm_dir mirror
  node="$(command -v node)" || die "no node on this machine to put in the base image"
  node="$(readlink -f "$node")"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm_dir/package.json" ] || die "cannot find npm's folder (got $npm_dir)"
  mirror="${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  root="$(mktemp -d /var/tmp/ringcache-base.XXXXXX)"
  trap 'rm -rf "$root"' EXIT
  say "making $base: debootstrap --variant=minbase bookworm from $mirror, with $node ($("$node" --version))"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
    die "debootstrap failed; see $root.log"
  rm -f "$root.log"
  install -D -m 0755 "$node" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
  # What the official node image sets: node on PATH, `node` as the default command.
  local changes=(
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'CMD ["node"]'
    --change 'LABEL org.ringcache.base-stand-in=debootstrap'
  )
  if [ "$tool" = podman ]; then
    tar -C "$root" -c . | podman import "${changes[@]}" - "$base" >/dev/null
  else
    # buildah has no import: a container from scratch with the root filesystem copied in.
    local ctr
    ctr="$(buildah from scratch)"
    tar -C "$root" -c . | buildah add "$ctr" - / >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --cmd node --label org.ringcache.base-stand-in=debootstrap "$ctr"
    buildah commit --rm "$ctr" "$base" >/dev/null
  fi
  say "made $base"
}

if [ "${RINGCACHE_REBUILD_BASE:-}" = 1 ] || ! image_exists "$base"; then
  make_base
else
  say "using $base as present"
fi

cafile="$(npm config get cafile 2>/dev/null || true)"
registry="$(npm config get registry 2>/dev/null || true)"
args=(--isolation chroot -f "$dockerfile" -t "$tag" --build-arg "NODE_IMAGE=$base")
[ -n "$registry" ] && [ "$registry" != undefined ] && args+=(--build-arg "NPM_REGISTRY=$registry")
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ] && [ -s "$cafile" ]; then
  args+=(--secret "id=npm_ca,src=$cafile")
fi

# The image this tag named before, removed once the new one is built if nothing else names it: a
# test that rebuilds often would otherwise leave one more unnamed image each time.
previous="$("$tool" images --quiet --no-trunc "$tag" 2>/dev/null | head -n1 || true)"

say "building $tag with $tool"
if [ "$tool" = podman ]; then
  podman build --pull=never "${args[@]}" "$repo"
else
  buildah build --pull=never "${args[@]}" "$repo"
fi
current="$("$tool" images --quiet --no-trunc "$tag" | head -n1)"
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  "$tool" rmi "$previous" >/dev/null 2>&1 || true # still named or used elsewhere: kept
fi
size="$("$tool" images --format '{{.Size}}' "$tag" | head -n1)"
say "built $tag ($size)"
