#!/usr/bin/env bash
# Load test of `trtnet serve` with Triton's own perf_analyzer, on loopback only.
#
#   docs/bench/perf_analyzer.sh [WORK_DIR]        (default /tmp/trtnet-perf; extra trtnet export flags via $EXPORT_ARGS)
#
# perf_analyzer comes from the tritonclient 2.41.0 wheel (tritonclient-2.41.0.data/data/bin/perf_analyzer); it
# needs Debian's libb64-0d (apt-get install libb64-0d) and libcudart.so.12, taken from the nvidia-cuda-runtime-cu12
# wheel (put on LD_LIBRARY_PATH; no GPU is used).  The script exports the small eager demo repository (or what
# $EXPORT_ARGS selects), serves it with `trtnet serve --repository` on free ports, runs perf_analyzer over gRPC
# against trtnet_tts at concurrency 1, 4 and 8 with four lines of TEXT in turn (dates, money, symbols, curly
# quotes, an em dash: the text front end speaks them), prints its summary lines, and stops the
# server.  The machine this was measured on is shared and noisy, so perf_analyzer's stability check is relaxed
# (--stability-percentage 999, three 10 s windows per level): the figures are averages over those windows.
set -euo pipefail
work=${1:-/tmp/trtnet-perf}
mkdir -p "$work"
cd "$work"
if [ ! -f pa/tc/tritonclient-2.41.0.data/data/bin/perf_analyzer ]; then
  python -m pip download -q --no-deps --only-binary=:all: -d wheels tritonclient==2.41.0 nvidia-cuda-runtime-cu12
  python -m zipfile -e wheels/tritonclient-2.41.0-*.whl pa/tc
  python -m zipfile -e wheels/nvidia_cuda_runtime_cu12-*.whl pa/cu
fi
chmod +x pa/tc/tritonclient-2.41.0.data/data/bin/perf_analyzer
ldconfig -p | grep -q libb64.so.0d || { echo "perf_analyzer needs libb64: apt-get install libb64-0d" >&2; exit 1; }
pa=$PWD/pa/tc/tritonclient-2.41.0.data/data/bin/perf_analyzer
export LD_LIBRARY_PATH=$PWD/pa/cu/nvidia/cuda_runtime/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

rm -rf repo
# shellcheck disable=SC2086
trtnet export-triton -o repo ${EXPORT_ARGS:---backend eager --demo-size small --no-stream}
read -r http grpc metrics < <(python -c "from trtnet.serve.server import free_ports; print(*free_ports(3))")
trtnet serve --repository repo --http-port "$http" --grpc-port "$grpc" --metrics-port "$metrics" > serve.log 2>&1 &
serve=$!
trap 'kill -TERM $serve 2>/dev/null; wait $serve 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q '^try:' serve.log && break; kill -0 $serve || { cat serve.log; exit 1; }; sleep 1; done
grep -q '^try:' serve.log || { echo "trtnet serve was not ready; serve.log:" >&2; cat serve.log >&2; exit 1; }

cat > input.json <<'JSON'
{"data": [{"TEXT": {"content": ["Dr. Smith paid $3.50 on 12/05/2024."], "shape": [1]}},
          {"TEXT": {"content": ["It's 25°C & 80% humid — the #1 day @ the café, at 3:30 pm!"], "shape": [1]}},
          {"TEXT": {"content": ["€20 or £15? 3 + 4 = 7, and ½ of 1st place… “quoted” text."], "shape": [1]}},
          {"TEXT": {"content": ["Hello world, this is a test."], "shape": [1]}}]}
JSON
for c in 1 4 8; do
  echo "== concurrency $c"
  "$pa" -m trtnet_tts -u "127.0.0.1:$grpc" -i grpc --input-data input.json --concurrency-range "$c" \
    --measurement-interval 10000 --stability-percentage 999 --max-trials 3 2>&1 \
    | grep -E "Concurrency: |Client: |Request count|Throughput|Avg latency|p50 latency|p90 latency|p99 latency|Inference count|Execution count|Avg request latency|rror|ailed" || true
done
