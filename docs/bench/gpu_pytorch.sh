#!/usr/bin/env bash
# The README's PyTorch rows on a GPU (eager, CUDA graph, compiled), one run per precision given:
#   docs/bench/gpu_pytorch.sh fp16 fp32      (from the repository root, trtnet installed, a CUDA GPU)
# runs, for each precision P and vocoder V in waveglow hifigan (full-size demo models, DLE's sentence):
#   trtnet bench --device cuda --precision P --vocoder V -bs 1 -bs 4 --iterations 5 --warmup 2 \
#     --backends pytorch,pytorch-graph,pytorch-compile --json docs/bench/G_pytorch_P_V.json
# where G names the GPU it ran on (first word after "NVIDIA" of nvidia-smi's name, lower case: h100, h200, ...;
# GPU_PREFIX overrides it), then `python3 docs/bench/readme_table.py --write README.md` regenerates the README's
# table from the JSON. JSON_DIR overrides where the JSON goes (default docs/bench), VOCODERS the vocoders
# (default "waveglow hifigan").
set -uo pipefail
dir=${JSON_DIR:-docs/bench}
gpu=${GPU_PREFIX:-$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 \
  | sed 's/^NVIDIA //' | awk '{print tolower($1)}')}
if [ -z "$gpu" ]; then
  echo "gpu_pytorch.sh: cannot name the GPU (nvidia-smi gave no name); set GPU_PREFIX, e.g. GPU_PREFIX=h100" >&2
  exit 2
fi
status=0
for p in "$@"; do
  for v in ${VOCODERS:-waveglow hifigan}; do
    trtnet bench --device cuda --precision "$p" --vocoder "$v" -bs 1 -bs 4 \
      --iterations 5 --warmup 2 --backends pytorch,pytorch-graph,pytorch-compile \
      --json "$dir/${gpu}_pytorch_${p}_${v}.json" || status=1
  done
done
exit $status
