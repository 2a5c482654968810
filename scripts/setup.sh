#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Ingot: the Debian packages the build and tests need, the
# pinned pnpm, and the workspace's npm packages. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2

mapfile -t wanted < <(sed 's/#.*//' scripts/debian-packages.txt | awk 'NF { print $1 }')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null; then
  echo "setup: Node.js 20 is required (https://nodejs.org or Debian's nodejs from a Node 20 source)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required, found $(node -v)" >&2
  exit 1
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g --no-fund --no-audit "pnpm@$PNPM_VERSION"
fi

pnpm install --frozen-lockfile
# The web UI (packages/ui) is built here, not committed: the controller serves packages/ui/dist.
pnpm --filter @ingot/ui build
# The rack agent and the controller as they run in production: one bundled file each
# (packages/rack-agent/dist, packages/controller/dist), see packages/cli/src/bundles.ts.
pnpm build:agent
pnpm build:controller
