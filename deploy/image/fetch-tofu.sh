#!/usr/bin/env bash
# Downloads the OpenTofu release zip for one architecture, verifies it against a pinned
# SHA-256 and installs the `tofu` binary. Used by the `tofu` stage of the Containerfile.
#
# Usage: fetch-tofu.sh VERSION ARCH SHA256_AMD64 SHA256_ARM64 DEST_DIR
#   ARCH is Docker's TARGETARCH (amd64 or arm64). Each checksum must be the 64-hex value for
#   tofu_<VERSION>_linux_<arch>.zip from the release's tofu_<VERSION>_SHA256SUMS. A missing,
#   malformed or mismatching checksum fails: there is no way to skip verification. The pinned
#   defaults and how to bump them are in the Containerfile and docs/RUNBOOK.md.
# Env: TOFU_RELEASES_URL  release base URL (default: GitHub releases of opentofu/opentofu)
#      PYTHON             Python used to download and unzip (default: python3)
set -euo pipefail

if [ "$#" -ne 5 ]; then
  echo "usage: $0 VERSION ARCH SHA256_AMD64 SHA256_ARM64 DEST_DIR" >&2
  exit 2
fi
version=$1 arch=$2 sha_amd64=$3 sha_arm64=$4 dest=$5
base_url=${TOFU_RELEASES_URL:-https://github.com/opentofu/opentofu/releases/download}
python=${PYTHON:-python3}

case "$arch" in
  amd64) expected=$sha_amd64 ;;
  arm64) expected=$sha_arm64 ;;
  *)
    echo "fetch-tofu: unsupported architecture '${arch}' (amd64 or arm64; build with BuildKit or buildah so TARGETARCH is set)" >&2
    exit 1
    ;;
esac

if ! printf '%s' "$expected" | grep -Eq '^[0-9a-f]{64}$'; then
  echo "fetch-tofu: no verified SHA-256 for tofu ${version} linux/${arch} (got '${expected}')." >&2
  echo "fetch-tofu: copy it from tofu_${version}_SHA256SUMS of the release and pass it as a build arg." >&2
  exit 1
fi

zip_name="tofu_${version}_linux_${arch}.zip"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
  "${base_url}/v${version}/${zip_name}" "${work}/${zip_name}"
(cd "$work" && printf '%s  %s\n' "$expected" "$zip_name" | sha256sum --check --strict -)
"$python" -m zipfile -e "${work}/${zip_name}" "${work}/unpacked"
install -D -m 0755 "${work}/unpacked/tofu" "${dest}/tofu"
echo "fetch-tofu: installed ${dest}/tofu (${version}, linux/${arch}, sha256 verified)"
