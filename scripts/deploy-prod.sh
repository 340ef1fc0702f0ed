#!/usr/bin/env bash
# Usage: bash scripts/deploy-prod.sh <package name> <target folder that does not exist yet>
# Lays out one package as an image holds it: its published files (package.json "files": dist/, plus bin/
# for a service with a launcher) and its production dependencies only, workspace packages copied in,
# versions from the lockfile, nothing fetched. pnpm 10 deploys from the shared lockfile only with
# injected workspace packages; the setting is given for this command alone, because injecting them in
# the workspace would make every package see a copy of core taken at install time instead of its build.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 <package name, e.g. @rds-csi/csi-controller> <target folder>" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
exec pnpm --filter "$1" --config.inject-workspace-packages=true deploy --prod --offline --reporter=silent "$2"
