#!/usr/bin/env bash
# Installs everything freezedry needs on a Debian 12 machine: system packages, a working CRIU
# (>= 4.1), and sysctls. Idempotent and cached: a second run takes a few seconds.
#
#   FREEZEDRY_CRIU=/path/to/criu   use that CRIU when it is new enough and `criu check` passes
#   FREEZEDRY_CACHE=/dir           where built CRIU trees are kept across clones (default /var/cache/freezedry)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/.deps"
cache="${FREEZEDRY_CACHE:-/var/cache/freezedry}"
min_major=4 min_minor=1
# Suites searched, in order, for a CRIU source package >= 4.1 (Debian 12 only carries 3.17.1).
source_suites=(sid trixie)

log() { printf '[provision] %s\n' "$*" >&2; }

# CRIU caches what it learns of the kernel (~60 ms of probes: iptables, vDSO, CPU) in
# RUNDIR/criu.kdat, but only on a tmpfs, and /run is not one on this machine kind: the CRIU we
# build keeps it in /dev/shm/freezedry-criu instead (a root-only directory the library creates
# before it runs CRIU; src/criu/kerndat-cache.ts). A tree built without it is built again.
kerndat_dir=/dev/shm/freezedry-criu
# freezedry's own change to CRIU (scripts/criu/lazy-pages-in-place.patch: a lazy dump leaves the
# pages in the stopped tree rather than pinning them while it is frozen). A tree built without
# this version of it is built again; a CRIU source it does not fit is built without it (CRIU
# works as it always did).
criu_patch="$root/scripts/criu/lazy-pages-in-place.patch"
# CRIU is built without GnuTLS: its TLS is for its own page server, which freezedry never asks
# for (a migration's channel is freezedry's own, with node's TLS). Linked, GnuTLS and the seven
# libraries it pulls in were loaded by every CRIU start: 1.3 ms warm, ~9 ms with a cold cache.
criu_make_flags=(NO_GNUTLS=1)
build_flavour="kerndat-cache=$kerndat_dir ${criu_make_flags[*]} lazy-pages-in-place=$(cat "$criu_patch" "${criu_patch%.patch}.sha256" | sha256sum | cut -c1-16)"
built_here() { [ "$(cat "$1/freezedry-build" 2>/dev/null)" = "$build_flavour" ]; }

[ "$(id -u)" = 0 ] || { log "must run as root (CRIU and apt need it)"; exit 1; }

system_packages=(
  # CRIU build dependencies (ENVIRONMENT.md)
  build-essential pkg-config libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  python3-protobuf libnl-3-dev libnet1-dev libcap-dev libbsd-dev libnftables-dev uuid-dev
  # and patch, for freezedry's change to it (scripts/criu/)
  patch
  # CRIU runtime: network locking and namespaces (ping: the migrate benchmark's link diagnostics;
  # nft: removing the lock CRIU leaves on a tree it dumped stopped, when its move then fails)
  iptables nftables iproute2 iputils-ping
  # the addon (libzstd) and the archive tools used by tests and benchmarks
  libzstd-dev libxxhash-dev zstd tar xz-utils
  # containers: runc is the engine (it runs the criu on the PATH freezedry gives it), and a static
  # busybox makes a rootfs without a registry
  runc busybox-static
)

install_system_packages() {
  local missing=()
  for p in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    # arm64 libraries for the cross-built prebuild come from Debian's multiarch archive.
    if [[ " ${missing[*]}" == *":arm64"* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
      dpkg --add-architecture arm64
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# criu_ok BIN: prints its version and succeeds when BIN is >= 4.1 and `criu check` passes.
criu_ok() {
  local bin="$1" v major minor
  [ -x "$bin" ] || return 1
  v="$("$bin" --version 2>/dev/null | sed -n 's/^Version: *//p')" || return 1
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  if [ "$major" -lt "$min_major" ] || { [ "$major" -eq "$min_major" ] && [ "$minor" -lt "$min_minor" ]; }; then
    log "$bin is CRIU $v, older than $min_major.$min_minor"; return 1
  fi
  "$bin" check >/dev/null 2>&1 || { log "$bin (CRIU $v): 'criu check' fails"; return 1; }
  echo "$v"
}

# The mirror this machine already uses for Debian itself, read from its apt sources.
debian_mirror() {
  local uri
  uri="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  [ -n "$uri" ] || uri="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  [ -n "$uri" ] || { log "no Debian mirror found in the apt sources"; return 1; }
  echo "${uri%/}"
}

# Fetch the orig tarball of CRIU >= 4.1 through a private apt configuration, so the machine's
# own sources and package lists are never touched.
fetch_criu_source() {
  local work="$1" mirror suite
  mirror="$(debian_mirror)"
  mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
  for suite in "${source_suites[@]}"; do
    echo "deb-src [trusted=yes] $mirror $suite main" >"$work/apt/sources.list"
    local aptopts=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
                   -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache"
                   -o Acquire::Languages=none)
    log "looking for the CRIU source package in $suite"
    apt-get "${aptopts[@]}" update -qq >/dev/null 2>&1 || continue
    # The Debian patch set answers 404 on this mirror; only the orig tarball matters.
    (cd "$work" && apt-get "${aptopts[@]}" source --download-only -qq criu >/dev/null 2>&1) || true
    local tarball
    tarball="$(ls "$work"/criu_*.orig.tar.* 2>/dev/null | sort -V | tail -n1 || true)"
    if [ -n "$tarball" ]; then
      local v="${tarball##*/criu_}"; v="${v%%.orig*}"
      if [ "${v%%.*}" -ge "$min_major" ]; then echo "$tarball"; return 0; fi
      rm -f "$tarball"
    fi
  done
  log "no CRIU >= $min_major.$min_minor source package found in: ${source_suites[*]}"
  return 1
}

build_criu() {
  local prefix="$1" work tarball src
  work="$(mktemp -d /tmp/freezedry-criu.XXXXXX)"
  trap 'rm -rf "$work"; trap - RETURN' RETURN
  tarball="$(fetch_criu_source "$work")"
  log "building CRIU from ${tarball##*/}"
  mkdir -p "$work/src"
  tar -xf "$tarball" -C "$work/src" --strip-components=1
  src="$work/src"
  # Insertions without context: applied only to the exact files they were written against.
  if (cd "$src" && sha256sum --quiet --status -c "${criu_patch%.patch}.sha256" 2>/dev/null) && patch -d "$src" -p1 -s -F0 <"$criu_patch"; then
    log "applied ${criu_patch##*/}"
  else
    log "${criu_patch##*/} was written for other CRIU sources: building ${tarball##*/} without it (a migration's freeze then grows with memory)"
  fi
  make -C "$src" -j"$(nproc)" criu lib RUNDIR="$kerndat_dir" "${criu_make_flags[@]}" >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; return 1; }
  rm -rf "$prefix.tmp"
  make -C "$src" install-criu install-lib SKIP_PIP_INSTALL=1 PREFIX="$prefix.tmp" RUNDIR="$kerndat_dir" "${criu_make_flags[@]}" >>"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; return 1; }
  printf '%s\n' "$build_flavour" >"$prefix.tmp/freezedry-build"
  rm -rf "$prefix"; mv "$prefix.tmp" "$prefix"
}

# CRIU's page pipes cannot grow past fs.pipe-max-size without CAP_SYS_RESOURCE; its remote
# lazy page server needs 4 MiB (criu-internals §2.6).
raise_pipe_max_size() {
  local want=$((4 * 1024 * 1024)) have
  have="$(cat /proc/sys/fs/pipe-max-size)"
  if [ "$have" -lt "$want" ]; then
    sysctl -q -w fs.pipe-max-size="$want" && log "fs.pipe-max-size raised from $have to $want"
  fi
}

# For the test suite: Debian 12's own CRIU (3.17), unpacked but never installed, as a real
# "CRIU too old" to refuse.
provision_old_criu() {
  local dest="$deps/criu-old"
  [ -x "$dest/usr/sbin/criu" ] && return 0
  local work deb
  work="$(mktemp -d /tmp/freezedry-oldcriu.XXXXXX)"
  deb="$(ls "$cache"/criu_3.*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    (cd "$work" && apt-get download -qq criu >/dev/null 2>&1) || { apt-get update -qq && (cd "$work" && apt-get download -qq criu >/dev/null); }
    mkdir -p "$cache"; cp "$work"/criu_*.deb "$cache/"
    deb="$(ls "$cache"/criu_3.*.deb | head -n1)"
  fi
  rm -rf "$dest"; dpkg-deb -x "$deb" "$dest"
  rm -rf "$work"
  log "Debian's CRIU $("$dest/usr/sbin/criu" --version 2>/dev/null | sed -n 's/^Version: *//p') unpacked in $dest (test fixture)"
}

# For the test suite: a real pre-fork web server (a master and its workers) to restore,
# Podman (run with --runtime runc) to make real Podman checkpoint exports, and clang with its
# runtime libraries for the libFuzzer targets (scripts/fuzz.sh), clang-format, chromium to open the
# benchmark report in a real browser, and the aarch64 cross compiler with arm64 zstd and xxhash
# for the arm64 prebuild (scripts/prebuild.sh).
test_packages=(nginx-light podman clang clang-format libclang-rt-14-dev chromium g++-aarch64-linux-gnu libzstd-dev:arm64 libxxhash-dev:arm64)

main() {
  if [ "${1:-}" = "--test" ]; then system_packages+=("${test_packages[@]}"); fi
  install_system_packages
  raise_pipe_max_size
  mkdir -p "$deps"

  local chosen="" v
  if [ -n "${FREEZEDRY_CRIU:-}" ]; then
    v="$(criu_ok "$FREEZEDRY_CRIU")" && chosen="$FREEZEDRY_CRIU"
    [ -n "$chosen" ] || log "FREEZEDRY_CRIU=$FREEZEDRY_CRIU is not usable; looking further"
  fi
  if [ -z "$chosen" ] && [ -x "$deps/criu/sbin/criu" ] && built_here "$deps/criu"; then
    v="$(criu_ok "$deps/criu/sbin/criu")" && chosen="$deps/criu/sbin/criu"
  fi
  if [ -z "$chosen" ] && command -v criu >/dev/null; then
    v="$(criu_ok "$(command -v criu)")" && chosen="$(command -v criu)"
  fi
  if [ -z "$chosen" ]; then
    # A tree built by an earlier clone on this machine is reused before building again.
    local cached
    cached="$(ls -d "$cache"/criu-* 2>/dev/null | sort -V | tail -n1 || true)"
    if [ -n "$cached" ] && built_here "$cached" && v="$(criu_ok "$cached/sbin/criu")"; then
      rm -rf "$deps/criu"; cp -a "$cached" "$deps/criu"
    else
      build_criu "$deps/criu"
      v="$(criu_ok "$deps/criu/sbin/criu")" || { log "the CRIU just built does not pass 'criu check'"; exit 1; }
      mkdir -p "$cache"; rm -rf "$cache/criu-$v"; cp -a "$deps/criu" "$cache/criu-$v"
    fi
    chosen="$deps/criu/sbin/criu"
  fi
  # The library and CLI read this file to find CRIU without any manual step.
  printf '%s\n' "$chosen" >"$deps/criu-path"
  log "CRIU $v at $chosen"
  if [ "${1:-}" = "--test" ]; then provision_old_criu; fi
}

main "$@"
