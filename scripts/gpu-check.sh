#!/bin/bash
# Runs the NVIDIA generator and the real-GPU tests on a machine with an NVIDIA driver,
# without network access, from carried files (how the closing note's H100 run was made).
#
# Prepare on a connected machine, in the repository root:
#   pip wheel --no-deps -w build/gpu .                     # cdikit itself
#   pip download -d build/gpu --python-version 3.12 --only-binary :all: \
#       msgspec PyYAML yaml-rs jsonschema inotify-simple nvidia-ml-py pytest hypothesis
#   (cd build/helperE-debs && apt-get download runc busybox-static)   # Debian/Ubuntu .debs
# Then on the GPU machine: OUT=/some/dir bash scripts/gpu-check.sh
set -e
cd "$(dirname "$0")/.."
PY=/opt/torch/.venv/bin/python3; [ -x $PY ] || PY=$(command -v python3)
$PY --version
X=/tmp/rx; mkdir -p $X; for d in build/helperE-debs/*.deb; do dpkg -x "$d" $X; done
export PATH=$X/usr/sbin:$X/usr/bin:$X/bin:$PATH
$PY -m pip install -q --upgrade --target /tmp/site --no-index --find-links build/gpu cdikit nvidia-ml-py pytest hypothesis 2>&1 | tail -3
export PYTHONPATH=/tmp/site
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi -L | tee $OUT/nvidia-smi-L.txt
nvidia-smi --query-gpu=driver_version,name,pci.bus_id,mig.mode.current --format=csv | tee $OUT/nvidia-smi-q.txt
mkdir -p /tmp/cdi
/usr/bin/time -v $PY -m cdikit generate nvidia --output /tmp/cdi/nvidia.yaml -v 2> $OUT/generate.stderr || true
tail -30 $OUT/generate.stderr
cp /tmp/cdi/nvidia.yaml $OUT/ || true
$PY -m cdikit -d /tmp/cdi devices | tee $OUT/cdi-devices.txt
$PY -m cdikit -d /tmp/cdi validate | tee $OUT/cdi-validate.txt
$PY -m cdikit -d /tmp/cdi lint | tee $OUT/cdi-lint.txt || true
# the installed package, not the source tree, runs the real-GPU tests
cd /tmp && $PY -m pytest -q -p no:cacheprovider -rs "$OLDPWD/tests/producers/test_real_gpu.py" "$OLDPWD/tests/e2e/test_real_gpu.py" "$OLDPWD/tests/e2e/test_gpu_generated_spec.py" "$OLDPWD/tests/e2e/test_gpu_jit_cdi.py" 2>&1 | tail -60 | tee $OUT/pytest.txt
