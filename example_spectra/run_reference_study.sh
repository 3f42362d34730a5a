#!/usr/bin/env bash
# The reference study's analysis on the shipped example series, headless:
# S 2p and P 2p, one joint series per electrode (CNF, KB), presence/onset tests, the Fig. 3 /
# Fig. S13 figure (CNF fits | one composition chart of both electrodes | KB fits), a report PDF
# per region (figure, composition table with σ, onsets, fit verdicts, recipe, version), tables
# and HDF5 results; then the 4.3 V controls (Fig. 4: single spectra with presence verdicts).
#   bash example_spectra/run_reference_study.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-out}"
mkdir -p "$out"
for region in s2p p2p; do
  xpsfit fit "$here/cnf_series.vms" "$here/kb_series.vms" -r "$here/${region}_sulfide.toml" \
    --series --series-by file --size double --dpi 300 \
    --table "$out/${region}_composition.csv" --onsets "$out/${region}_onsets.csv" \
    --plot "$out/${region}_figure.png" --bars "$out/${region}_bars.png" \
    --report "$out/${region}_report.pdf" --save "$out/${region}_results.h5"
  xpsfit fit "$here/controls.vms" -r "$here/${region}_sulfide.toml" \
    --series --mode independent --layout singles --size double \
    --table "$out/${region}_controls.csv" --plot "$out/${region}_controls.png" \
    --report "$out/${region}_controls_report.pdf"
done
echo "outputs in $out/ (compare with $here/truth.json: S0 from 3.8 V KB / 4.3 V CNF, POx from 4.0 V KB / 4.3 V CNF)"
