#!/usr/bin/env bash
# The H200 PyTorch rows of the README (eager, CUDA graph, compiled), one run per precision given:
#   docs/bench/h200_pytorch.sh fp16 fp32      (from the repository root, trtnet installed, a CUDA GPU)
# runs, for each precision P and vocoder V in waveglow hifigan (full-size demo models, DLE's sentence):
#   trtnet bench --device cuda --precision P --vocoder V -bs 1 -bs 4 --iterations 5 --warmup 2 \
#     --backends pytorch,pytorch-graph,pytorch-compile --json docs/bench/h200_pytorch_P_V.json
# then `python3 docs/bench/readme_table.py --write README.md` regenerates the README's table from the JSON.
# JSON_DIR overrides where the JSON goes (default docs/bench), VOCODERS the vocoders (default "waveglow hifigan").
set -uo pipefail
dir=${JSON_DIR:-docs/bench}
status=0
for p in "$@"; do
  for v in ${VOCODERS:-waveglow hifigan}; do
    trtnet bench --device cuda --precision "$p" --vocoder "$v" -bs 1 -bs 4 \
      --iterations 5 --warmup 2 --backends pytorch,pytorch-graph,pytorch-compile \
      --json "$dir/h200_pytorch_${p}_${v}.json" || status=1
  done
done
exit $status
