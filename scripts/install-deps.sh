#!/usr/bin/env bash
# Installs everything memplan needs on Debian 12, idempotently:
#   apt packages (toolchains, Python modules, QEMU, analysis tools),
#   Catch2 3 from bookworm-backports, and the mbedTLS 3.6 LTS source from
#   Debian 13's source package (unpacked into the dependency cache).
# The package mirror is taken from this machine's own apt configuration.
set -euo pipefail

cache_dir="${MEMPLAN_DEPS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/memplan}"
mbedtls_version="3.6.6"
mbedtls_dir="$cache_dir/mbedtls-$mbedtls_version"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

log() { printf 'install-deps: %s\n' "$*" >&2; }

apt_packages=(
  build-essential cmake ninja-build git pkg-config bzip2 xz-utils dpkg-dev
  python3 python3-jinja2 python3-yaml python3-pyelftools python3-pytest
  python3-hypothesis python3-coverage python3-jsonschema python3-cryptography python3-pip python3-venv python3-setuptools python3-wheel
  flake8 mypy gcovr
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
  binutils-arm-none-eabi qemu-system-arm gdb-multiarch
  libbenchmark-dev valgrind clang clang-tidy clang-format cppcheck
  libclang-rt-14-dev
)

# The mirror URI this machine already uses for Debian's main archive.
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { log "cannot find the Debian mirror in the apt sources"; exit 1; }
  printf '%s\n' "$uri"
}

ensure_extra_sources() {
  local list=/etc/apt/sources.list.d/memplan-extra.sources
  if [ -f "$list" ]; then return 1; fi
  local mirror
  mirror=$(debian_mirror)
  log "adding bookworm-backports (Catch2 3) and trixie deb-src (mbedTLS 3.6)"
  "${sudo_cmd[@]}" tee "$list" >/dev/null <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  return 0
}

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$pkg"
  done
}

updated=0
apt_update() {
  if [ "$updated" -eq 0 ]; then
    "${sudo_cmd[@]}" apt-get update -qq
    updated=1
  fi
}

if ensure_extra_sources; then apt_update; fi

mapfile -t missing < <(missing_packages "${apt_packages[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Catch2 3 only exists in backports for bookworm.
if ! dpkg-query -W -f='${Version}' catch2 2>/dev/null | grep -q '^3\.'; then
  log "installing catch2 3 from bookworm-backports"
  apt_update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends -t bookworm-backports catch2 >/dev/null
fi

# mbedTLS 3.6 LTS source (never the system library: the project builds its own).
if [ ! -f "$mbedtls_dir/include/mbedtls/gcm.h" ]; then
  log "fetching the mbedTLS $mbedtls_version source package into $cache_dir"
  apt_update
  mkdir -p "$cache_dir"
  work=$(mktemp -d "$cache_dir/download.XXXXXX")
  (cd "$work" && apt-get source --download-only -qq "mbedtls=$mbedtls_version-*" >/dev/null 2>&1 \
     || apt-get source --download-only -qq mbedtls/trixie >/dev/null)
  orig=$(ls "$work"/mbedtls_*.orig.tar.* | head -n 1)
  mkdir -p "$work/unpacked"
  tar -xf "$orig" -C "$work/unpacked"
  top=$(find "$work/unpacked" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  grep -q "MBEDTLS_VERSION_STRING *\"$mbedtls_version\"" "$top/include/mbedtls/build_info.h" \
    || { log "unexpected mbedTLS version in $orig"; exit 1; }
  rm -rf "$mbedtls_dir"
  mv "$top" "$mbedtls_dir"
  rm -rf "$work"
fi

printf '%s\n' "$mbedtls_dir"
