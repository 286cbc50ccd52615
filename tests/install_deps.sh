#!/usr/bin/env bash
# Installs the Debian packages weir needs to build, test and run its demo (only the
# missing ones). Needs root or sudo.
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      libmosquitto-dev mosquitto mosquitto-clients
      libpaho-mqtt-dev libpaho-mqttpp-dev
      libsimdjson-dev nlohmann-json3-dev libcbor-dev libsqlite3-dev zlib1g-dev libspdlog-dev
      librdkafka-dev libsystemd-dev libcpp-httplib-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
