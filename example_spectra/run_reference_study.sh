#!/usr/bin/env bash
# The reference study's analysis on the shipped example series, headless:
# S 2p and P 2p, one joint series per electrode (CNF, KB), presence/onset tests, composition bars,
# a one-page report per region (fits beside bars, CNF above KB), tables and HDF5 results.
#   bash example_spectra/run_reference_study.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-out}"
mkdir -p "$out"
for region in s2p p2p; do
  xpsfit fit "$here/cnf_series.vms" "$here/kb_series.vms" -r "$here/${region}_sulfide.toml" \
    --series --series-by file \
    --table "$out/${region}_composition.csv" --onsets "$out/${region}_onsets.csv" \
    --plot "$out/${region}_fits.png" --bars "$out/${region}_bars.png" \
    --report "$out/${region}_report.pdf" --save "$out/${region}_results.h5"
done
echo "outputs in $out/ (compare with $here/truth.json: S0 from 3.8 V KB / 4.3 V CNF, POx from 4.0 V KB / 4.3 V CNF)"
