#!/usr/bin/env bash
# Prebuilt addons, so that `npm install freezedry` needs no compiler: prebuilds/linux-x64 and
# prebuilds/linux-arm64 (cross-compiled with Debian's aarch64 toolchain on an x86-64 host), each
# the N-API addon (zstd and xxhash linked in, tagged glibc) and a static freezedry-init. Each
# architecture builds in a scratch copy, so build/ (the development build) is left alone.
#   scripts/prebuild.sh [x64] [arm64]        (default: both)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
host_arch="$(node -p process.arch)"

# node-gyp builds against the installed Node's headers: there is no network for downloads.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi

for arch in "${@:-x64 arm64}"; do
  for a in $arch; do
    work="$(mktemp -d /tmp/freezedry-prebuild-XXXXXX)"
    trap 'rm -rf "$work"' EXIT
    cp -r binding.gyp package.json native "$work/"
    ln -s "$root/node_modules" "$work/node_modules"
    strip_bin=strip
    cross=()
    if [ "$a" != "$host_arch" ]; then
      case "$a" in
        arm64) triple=aarch64-linux-gnu ;;
        x64) triple=x86_64-linux-gnu ;;
        *) echo "prebuild: no cross toolchain known for $a" >&2; exit 2 ;;
      esac
      command -v "$triple-g++" >/dev/null || { echo "prebuild: $triple-g++ missing: scripts/provision.sh --test installs it" >&2; exit 2; }
      cross=(CC="$triple-gcc" CXX="$triple-g++" LINK="$triple-g++" AR="$triple-ar")
      strip_bin="$triple-strip"
    fi
    echo "[prebuild] linux-$a" >&2
    (cd "$work" && env "${cross[@]}" "$root/node_modules/.bin/prebuildify" --napi --strip --strip-bin "$strip_bin" --tag-libc --arch "$a" --quiet)
    mkdir -p "prebuilds/linux-$a"
    cp "$work/prebuilds/linux-$a/"*.node "prebuilds/linux-$a/"
    "$strip_bin" --strip-all -o "prebuilds/linux-$a/freezedry-init" "$work/build/Release/freezedry-init"
    rm -rf "$work"
    trap - EXIT
  done
done
ls -l prebuilds/*/ >&2
