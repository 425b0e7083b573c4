#!/usr/bin/env bash
# install-deps: every Debian (bookworm) package that building, testing and running the demo need.
# Non-interactive and idempotent: packages already installed are left as they are, and apt-get is
# skipped entirely when nothing is missing (so a re-run works offline). Run as root, or with sudo
# available.
set -euo pipefail

# python3-rdflib, python3-openpyxl and prometheus are for the tests: rdflib reads the DCAT catalog,
# openpyxl the Excel export, and prometheus is Debian's only package with promtool (96 MB installed;
# on a host running systemd it also starts a Prometheus server on :9090, which
# `systemctl disable --now prometheus` stops if it is not wanted). chromium, chromium-driver,
# python3-selenium and fonts-ipafont-gothic run the web page's browser tests (test_web.py) and render
# its Japanese.
PACKAGES=(
  cmake gcc clang clang-format pkg-config
  libuv1-dev libnng-dev libprotobuf-c-dev protobuf-c-compiler liblmdb-dev libssl-dev
  libhttp-parser-dev libjansson-dev libutf8proc-dev libinih-dev libcmocka-dev libglib2.0-dev
  libcurl4-openssl-dev liburiparser-dev libclang-rt-14-dev libsodium-dev libzstd-dev libcsv-dev libxlsxwriter-dev
  python3 python3-feedparser python3-icalendar python3-rdflib python3-openpyxl prometheus
  chromium chromium-driver python3-selenium fonts-ipafont-gothic
  curl lmdb-utils openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
