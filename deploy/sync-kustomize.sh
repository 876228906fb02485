#!/usr/bin/env bash
# Regenerates the plain manifests in deploy/kustomize/ from the Helm chart rendered with its
# default values, one file per template, so the raw-kustomize path (Flux Kustomization, no
# Helm) can never drift from the chart. Edit the chart, then run this script; the test
# tests/deploy/test_kustomize_copy.py fails when the two differ. kustomization.yaml is
# maintained by hand and must list every generated file.
#
# Usage: deploy/sync-kustomize.sh [OUT_DIR]     (default: deploy/kustomize)
# Env:   HELM=/path/to/helm                    (default: helm on PATH)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-"$here/kustomize"}
helm_bin=${HELM:-helm}

mkdir -p "$out"
rendered=$("$helm_bin" template catalyst-api "$here/helm/catalyst-api" --namespace catalyst)

# helm template prints "---" then "# Source: catalyst-api/templates/<file>" before each
# document; every template renders at most one document.
printf '%s\n' "$rendered" | awk -v out="$out" '
  /^---$/ { next }
  /^# Source: / {
    if (file != "") close(file)
    n = split($3, parts, "/")
    file = out "/" parts[n]
    print "# Generated from deploy/helm/catalyst-api by deploy/sync-kustomize.sh: edit the" > file
    print "# chart and re-run the script instead of editing this file." > file
    next
  }
  file != "" { print > file }
'
