#!/usr/bin/env bash
# Installs the Debian packages CCCDKit needs when any is missing (apt-get update first), and pcscd's four virtual
# readers (scripts/vpcd-readers.sh). Idempotent and quiet when everything is present. Runs apt as root, or
# through sudo when available.
set -euo pipefail

packages=(pkg-config libssl-dev openssl libpcsclite-dev pcscd vsmartcard-vpcd procps postgresql libp11-kit-dev softhsm2 libopenjp2-7-dev zlib1g-dev chromium fonts-dejavu-core curl time openpace)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exec bash "$(dirname "$0")/vpcd-readers.sh"; fi

echo "Installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
# Four virtual readers instead of two (a second copy of the vpcd driver; see the script).
bash "$(dirname "$0")/vpcd-readers.sh"
