#!/usr/bin/env bash
# The GPU check (issue 13), on a machine with a CUDA GPU and a CUDA build of PyTorch:
#
#     bash benchmarks/gpu_check.sh        # results in $OUT, else benchmarks/gpu_results/
#
# 1. Installs what it needs beside that PyTorch (never replacing it): scikit-learn
#    >= 1.9, array-api-strict, pytest and hypothesis, from PyPI; or, on a machine
#    that reaches no registry, from wheels put in .whl/ beforehand, e.g. for
#    Python 3.12:
#        python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#            --implementation cp --platform manylinux_2_27_x86_64 \
#            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#            -d .whl scikit-learn==1.9.1 array-api-strict==2.6.1
# 2. Runs the Array API tests on cuda: ours (tests/test_dispatch.py with
#    SKBACKPROP_TEST_DEVICE=cuda: float64 fits on the GPU equal NumPy's to 1e-10)
#    and scikit-learn's checks (check_array_api_input and friends, which include
#    torch on cuda when a GPU is there).
# 3. Times one epoch of the suite's 50k x 100 and 200k x 200 float32 workloads for
#    our NumPy path (2 BLAS threads), our torch-cuda path and a plain PyTorch loop
#    on the same GPU, with the final losses (benchmarks/bench_gpu.py).
# Each stage has its own time limit; the whole check ends within 8 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
RESULTS=${OUT:-benchmarks/gpu_results}
mkdir -p "$RESULTS"
export SCIPY_ARRAY_API=1 PYTHONUNBUFFERED=1 SKBACKPROP_TEST_DEVICE=cuda

if [ -d .whl ]; then
    timeout 120 "$PY" -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target /tmp/skbackprop-site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/skbackprop-site
else
    timeout 120 "$PY" -m pip install -q "scikit-learn>=1.9" "array-api-strict>=2.3" \
        pytest hypothesis || exit 1
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PY" - <<'EOF' || exit 1
import numpy, scipy, sklearn, torch
assert torch.cuda.is_available(), "no CUDA GPU: this check needs one"
print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}, sklearn "
      f"{sklearn.__version__}, scipy {scipy.__version__}, numpy {numpy.__version__}")
EOF

status=0
timeout 150 "$PY" -m pytest -q -p no:cacheprovider -o addopts="" \
    tests/test_dispatch.py tests/test_xp.py 2>&1 | tee "$RESULTS/tests_ours.log" || status=1
timeout 120 "$PY" -m pytest -q -p no:cacheprovider -o addopts="" tests/test_common.py \
    -k "array_api" -rs 2>&1 | tee "$RESULTS/tests_sklearn.log" || status=1
timeout 180 "$PY" benchmarks/bench_gpu.py --out "$RESULTS/gpu.json" 2>&1 \
    | tee "$RESULTS/bench.log" || status=1
exit $status
