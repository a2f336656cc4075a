#!/usr/bin/env bash
# GPU smoke check of hakd-agent and hakd-worker built against a CUDA LibTorch
# (docs/training.md, "CUDA agents and workers").
#
#   bash deploy/gpu-smoke.sh [--device cuda:N] [--cpu-only] [--keep]
#
# On a CUDA machine (Debian/Ubuntu with this project's build dependencies,
# deploy/install-deps.sh, a CUDA toolkit, and a PyTorch CUDA install or
# LIBTORCH=/path/to/libtorch) it
#   1. builds hakd-server, hakdctl, hakd-agent and hakd-worker with
#      -DHAKD_CUDA=ON into build-cuda/ (HAKD_CUDA_BUILD_DIR),
#   2. starts a coordinator on loopback (fresh database, digest auth file made
#      with `hakdctl admin token create`),
#   3. sweeps a handful of convolution shapes on an agent with --device cuda:0
#      and on one with --device cpu, prints both latency tables side by side
#      with the CPU/GPU ratio, and checks that every shape landed on both with
#      a positive latency,
#   4. trains a tiny teacher for a few steps on cuda:0 and the same task on the
#      cpu (same seed, same synthetic data), then distils a student from the
#      same (cpu-trained) teacher on both, and compares the per-epoch train
#      and test losses: they must agree within HAKD_SMOKE_RTOL (relative,
#      default 0.05: cuDNN (TF32 on Ampere and later) and oneDNN round
#      differently and SGD carries the difference forward),
#   5. prints a summary; exits 0 when everything passed.
#
# --cpu-only runs the same flow without a GPU against the normal build
# (HAKD_BUILD_DIR, default build/), with --device cpu on both sides: it checks
# the script, not CUDA.
#
# Exit codes: 0 passed, 1 a check failed, 2 no GPU (or a usage error),
# 3 no CUDA LibTorch / build prerequisites (the message says what to provide).
#
# Environment: LIBTORCH (an unpacked LibTorch; default: the one of
# `python3 -c 'import torch'`), PYTHON (python3), HAKD_CUDA_BUILD_DIR
# (build-cuda), HAKD_BUILD_DIR (build, --cpu-only), HAKD_SMOKE_RTOL (0.05),
# HAKD_SMOKE_EPOCHS (3), HAKD_SMOKE_STEPS (steps per epoch, 10), HAKD_SMOKE_KEEP
# (=1: keep the work directory), JOBS (build parallelism, nproc).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gpu_device="cuda:0"
cpu_only=0
keep="${HAKD_SMOKE_KEEP:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-only) cpu_only=1 ;;
    --device) gpu_device="${2:-}"; shift ;;
    --device=*) gpu_device="${1#--device=}" ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-smoke: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$gpu_device" in
  cuda:[0-9]*) ;;
  *) echo "gpu-smoke: --device must be cuda:N, got '$gpu_device'" >&2; exit 2 ;;
esac
rtol="${HAKD_SMOKE_RTOL:-0.05}"
epochs="${HAKD_SMOKE_EPOCHS:-3}"
steps="${HAKD_SMOKE_STEPS:-10}"
py="${PYTHON:-python3}"

say() { echo "[gpu-smoke $(date +%T)] $*" >&2; }
die() { local rc="$1"; shift; echo "gpu-smoke: $*" >&2; exit "$rc"; }

# ---------------------------------------------------------------- the build
if [ "$cpu_only" -eq 1 ]; then
  side_a="cpu"            # stands in for the GPU side
  label_a="cpu (A)"
  build="${HAKD_BUILD_DIR:-$root/build}"
  say "--cpu-only: no CUDA build, both sides on the cpu, binaries from $build"
  for b in server/hakd-server cli/hakdctl agent/hakd-agent worker/hakd-worker; do
    [ -x "$build/$b" ] || die 3 "$build/$b is not built (bash deploy/build.sh, or ninja -C $build ${b##*/})"
  done
else
  side_a="$gpu_device"
  label_a="$gpu_device"
  build="${HAKD_CUDA_BUILD_DIR:-$root/build-cuda}"

  # A GPU and its driver.
  gpus=""
  if command -v nvidia-smi >/dev/null 2>&1; then
    gpus="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)"
  elif ls /proc/driver/nvidia/gpus/* >/dev/null 2>&1; then
    gpus="$(find /proc/driver/nvidia/gpus -mindepth 1 -maxdepth 1 | wc -l)"
  fi
  if [ -z "$gpus" ] || [ "$gpus" -eq 0 ]; then
    die 2 "no NVIDIA GPU found (nvidia-smi -L lists none, or there is no NVIDIA driver). This check needs a CUDA GPU; run 'bash deploy/gpu-smoke.sh --cpu-only' to exercise the flow on the cpu."
  fi
  index="${gpu_device#cuda:}"
  [ "$index" -lt "$gpus" ] || die 2 "$gpu_device asked for, but only $gpus GPU(s) found, numbered from 0"
  say "GPUs: $(nvidia-smi -L 2>/dev/null | tr '\n' ';' || echo "$gpus")"

  # A CUDA LibTorch with the C++11 ABI.
  how_to="Provide a CUDA LibTorch: either install PyTorch with CUDA for $py (pip install torch; a >= 2.7 wheel, whose C++ ABI matches this project's) or download the LibTorch zip for your CUDA version from https://pytorch.org/get-started/locally/ (C++/Java, 'cxx11 ABI' variant), unpack it and run LIBTORCH=/path/to/libtorch bash deploy/gpu-smoke.sh."
  if [ -n "${LIBTORCH:-}" ]; then
    [ -f "$LIBTORCH/share/cmake/Torch/TorchConfig.cmake" ] ||
      die 3 "LIBTORCH=$LIBTORCH holds no share/cmake/Torch/TorchConfig.cmake. $how_to"
    prefix="$LIBTORCH"
    if ! ls "$LIBTORCH"/lib/libtorch_cuda.so* >/dev/null 2>&1; then
      die 3 "LIBTORCH=$LIBTORCH has no lib/libtorch_cuda.so: a CPU-only LibTorch. $how_to"
    fi
    say "LibTorch: $prefix"
  else
    command -v "$py" >/dev/null 2>&1 || die 3 "neither LIBTORCH is set nor $py found. $how_to"
    info="$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path); print(torch.__version__); print(torch.version.cuda or ""); print(int(torch.compiled_with_cxx11_abi())); print(int(torch.cuda.is_available()))' 2>&1)" ||
      die 3 "$py cannot import torch ($(echo "$info" | tail -1)). $how_to"
    prefix="$(echo "$info" | sed -n 1p)"
    tv="$(echo "$info" | sed -n 2p)"
    tcuda="$(echo "$info" | sed -n 3p)"
    tabi="$(echo "$info" | sed -n 4p)"
    tavail="$(echo "$info" | sed -n 5p)"
    say "PyTorch $tv (CUDA ${tcuda:-none}, cxx11 ABI $tabi, torch.cuda.is_available() $tavail): $prefix"
    [ -n "$tcuda" ] || die 3 "PyTorch $tv is a CPU-only build. $how_to"
    [ "$tabi" = "1" ] || die 3 "PyTorch $tv was built with the pre-C++11 ABI (_GLIBCXX_USE_CXX11_ABI=0), which cannot be linked with this project's gRPC/protobuf/Abseil (C++11 ABI). Install a PyTorch >= 2.7 wheel or use the 'cxx11 ABI' LibTorch zip (LIBTORCH=...)."
    [ "$tavail" = "1" ] || say "warning: torch.cuda.is_available() is false in Python: the driver may not match this PyTorch's CUDA $tcuda"
  fi

  { command -v cmake >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1; } ||
    die 3 "cmake and ninja are needed: sudo bash deploy/install-deps.sh"
  cuda_flags=()
  if ! command -v nvcc >/dev/null 2>&1; then
    if [ -x /usr/local/cuda/bin/nvcc ]; then
      cuda_flags=(-DCUDAToolkit_ROOT=/usr/local/cuda -DCUDA_TOOLKIT_ROOT_DIR=/usr/local/cuda
                  -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
    else
      say "warning: no nvcc on PATH nor in /usr/local/cuda: LibTorch's CMake files (Caffe2Config) need the CUDA toolkit and will likely fail; install it (e.g. apt install nvidia-cuda-toolkit, or NVIDIA's cuda-toolkit-XX-Y) or put its bin/ on PATH"
    fi
  fi
  say "configuring $build (HAKD_CUDA=ON)"
  if ! cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
       -DHAKD_CUDA=ON -DHAKD_BUILD_TESTS=OFF -DCMAKE_PREFIX_PATH="$prefix" \
       "${cuda_flags[@]}" > "$build.configure.log" 2>&1; then
    tail -30 "$build.configure.log" >&2
    die 3 "configuring with -DHAKD_CUDA=ON failed (whole log: $build.configure.log)"
  fi
  grep -E 'HAKD_TORCH_CUDA|NCCL' "$build.configure.log" | sed 's/^-- /  cmake: /' >&2
  say "building hakd-server hakdctl hakd-agent hakd-worker (-j${JOBS:-$(nproc)})"
  if ! ninja -C "$build" -j"${JOBS:-$(nproc)}" hakd-server hakdctl hakd-agent hakd-worker > "$build.build.log" 2>&1; then
    grep -E 'error|Error' "$build.build.log" | head -30 >&2
    die 1 "the CUDA build failed (whole log: $build.build.log)"
  fi
fi
server_bin="$build/server/hakd-server"
ctl_bin="$build/cli/hakdctl"
agent_bin="$build/agent/hakd-agent"
worker_bin="$build/worker/hakd-worker"

# ---------------------------------------------------------------- the farm
work="$(mktemp -d "${TMPDIR:-/tmp}/hakd-gpu-smoke.XXXXXX")"
pids=()
failures=()
cleanup() {
  local rc=$? pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ] || [ -n "$keep" ]; then
    echo "gpu-smoke: logs and database kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Tokens for every role and the auth file of their digests.
: > "$work/auth"
chmod 600 "$work/auth"
for role in admin agent worker; do
  out="$("$ctl_bin" admin token create --role "$role" --name "smoke-$role" --json)" ||
    die 1 "hakdctl admin token create --role $role failed"
  token="$(echo "$out" | grep -o '"token": *"[^"]*"' | sed 's/.*: *"//; s/"$//')"
  line="$(echo "$out" | grep -o '"auth_line": *"[^"]*"' | sed 's/.*: *"//; s/"$//')"
  [ -n "$token" ] && [ -n "$line" ] || die 1 "unexpected output of admin token create: $out"
  (umask 077; printf '%s\n' "$token" > "$work/$role.token")
  printf '%s\n' "$line" >> "$work/auth"
done

say "starting hakd-server on loopback (work directory $work)"
"$server_bin" --listen 127.0.0.1:0 --port-file "$work/port" --db "$work/hakd.db" \
  --auth-file "$work/auth" --artifact-dir "$work/artifacts" > "$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { tail -20 "$work/server.log" >&2; die 1 "hakd-server did not start"; }
addr="127.0.0.1:$(cat "$work/port")"
ctl() { "$ctl_bin" --server "$addr" --token-file "$work/admin.token" "$@"; }

# ---------------------------------------------------------------- 1. sweeps
name_a="smoke-a"
name_b="smoke-cpu"
start_agent() {  # NAME DEVICE
  "$agent_bin" --server "$addr" --token-file "$work/agent.token" --name "$1" \
    --device "$2" --threads "${HAKD_SMOKE_THREADS:-1}" --spool "$work/$1.spool" \
    > "$work/agent-$1.log" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 300); do
    ctl devices list 2>/dev/null | grep -w "$1" | grep -q online && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  tail -5 "$work/agent-$1.log" >&2
  die 1 "agent $1 (--device $2) did not come online"
}
say "starting agent $name_a (--device $side_a) and agent $name_b (--device cpu)"
start_agent "$name_a" "$side_a"
start_agent "$name_b" cpu

# A handful of convolution shapes (8): 3x3 at batch 1 (4) and 16, 1x1 (2),
# depthwise.
families=(
  --family "conv2d:k=3:c=16-64/16:res=32"
  --family "conv2d:k=3:c=32:res=32:b=16"
  --family "conv2d:k=1:c=64-256/192:res=16"
  --family "conv2d:k=3:c=128:res=16:dw"
)
expected=8
sweep_flags=(--min-samples 5 --max-samples 50 --max-seconds-per-layer 1 --reference-interval-s 0)
declare -A sweep_id
for name in "$name_a" "$name_b"; do
  out="$(ctl sweep start --device "$name" "${families[@]}" "${sweep_flags[@]}" --label gpu-smoke --json)" ||
    die 1 "sweep start on $name failed: $out"
  id="$(echo "$out" | grep -o '"sweep_id": *"\?[0-9]*' | head -1 | grep -o '[0-9]*$')"
  [ -n "$id" ] || id="$(echo "$out" | grep -o '"id": *"\?[0-9]*' | head -1 | grep -o '[0-9]*$')"
  [ -n "$id" ] || die 1 "no sweep id in: $out"
  sweep_id[$name]="$id"
done
say "sweeps ${sweep_id[$name_a]} ($name_a) and ${sweep_id[$name_b]} ($name_b) started"
for name in "$name_a" "$name_b"; do
  ctl sweep watch "${sweep_id[$name]}" > "$work/sweep-$name.log" 2>&1 ||
    { tail -5 "$work/sweep-$name.log" >&2; failures+=("sweep on $name did not succeed"); }
  ctl latency export --device "$name" --format csv -o "$work/latency-$name.csv" ||
    failures+=("latency export of $name failed")
done

# Joins the two exports on the layer shape (this sweep's rows only) and
# prints them side by side; last line: "rows=N a_ok=N ratio_gmean=X".
awk -F, -v sa="${sweep_id[$name_a]}" -v sb="${sweep_id[$name_b]}" \
    -v la="$label_a" -v fa="$work/latency-$name_a.csv" '
  FNR == 1 { next }
  {
    key = $3 " b" $4 " " $5 "->" $6 " " $7 "x" $8 " k" $9 " s" $10 " g" $12
    if (FILENAME == fa) { if ($26 == sa) a[key] = $16 }
    else if ($26 == sb) { b[key] = $16; order[++n] = key }
  }
  END {
    printf "%-34s %14s %14s %9s\n", "layer (kind batch in->out HxW kernel stride groups)", la " us", "cpu us", "cpu/A"
    rows = 0; ok = 0; logsum = 0; nr = 0
    for (i = 1; i <= n; i++) {
      k = order[i]; rows++
      if (k in a && a[k] > 0) ok++
      r = (k in a && a[k] > 0) ? b[k] / a[k] : 0
      if (r > 0) { logsum += log(r); nr++ }
      va = (k in a) ? sprintf("%.1f", a[k]) : "MISSING"
      vr = (r > 0) ? sprintf("%.2fx", r) : "-"
      printf "%-34s %14s %14.1f %9s\n", k, va, b[k], vr
    }
    for (k in a) if (!(k in b)) { rows++; printf "%-34s %14.1f %14s %9s\n", k, a[k], "MISSING", "-" }
    printf "rows=%d a_ok=%d ratio_gmean=%s\n", rows, ok, nr ? sprintf("%.2f", exp(logsum / nr)) : "-"
  }' "$work/latency-$name_a.csv" "$work/latency-$name_b.csv" > "$work/latency-table.txt"
echo
echo "== latency: $label_a against cpu (median of the samples, microseconds)"
sed '$d' "$work/latency-table.txt"
stats="$(tail -1 "$work/latency-table.txt")"
rows="$(echo "$stats" | sed 's/.*rows=\([0-9]*\).*/\1/')"
a_ok="$(echo "$stats" | sed 's/.*a_ok=\([0-9]*\).*/\1/')"
ratio="$(echo "$stats" | sed 's/.*ratio_gmean=//')"
echo "   geometric mean of cpu/$label_a: $ratio"
[ "$rows" -eq "$expected" ] || failures+=("latency: expected $expected shapes on each side, the tables hold $rows")
[ "$a_ok" -eq "$expected" ] || failures+=("latency: only $a_ok of $expected shapes landed on $label_a with a positive latency")
if [ "$cpu_only" -eq 0 ]; then
  ctl devices show "$name_a" > "$work/device-$name_a.txt" 2>&1 || true
  grep -iE 'accelerator|gpu|cuda|device name' "$work/device-$name_a.txt" | head -5 | sed 's/^/   /'
fi

# ---------------------------------------------------------------- 2. training
# Synthetic Fashion-MNIST-shaped data (IDX): each class a bright band, so a
# tiny network learns it in a few steps; identical for both sides.
data="$work/fmnist"
mkdir -p "$data"
write_idx() {  # DIR PREFIX COUNT SEED
  perl -e '
    my ($dir, $prefix, $n, $seed) = @ARGV;
    srand($seed);
    open(my $im, ">:raw", "$dir/$prefix-images-idx3-ubyte") or die "$!";
    open(my $lb, ">:raw", "$dir/$prefix-labels-idx1-ubyte") or die "$!";
    print $im pack("N4", 0x803, $n, 28, 28);
    print $lb pack("N2", 0x801, $n);
    for (1 .. $n) {
      my $label = int(rand(10));
      print $lb pack("C", $label);
      for my $y (0 .. 27) {
        print $im pack("C28", map { int(rand(60)) +
          ($y >= 2 + 2 * $label && $y < 4 + 2 * $label ? 180 : 0) } 0 .. 27);
      }
    }' "$@"
}
{ write_idx "$data" train 1024 1 && write_idx "$data" t10k 256 2; } || die 1 "cannot write the synthetic data set (perl)"

cat > "$work/teacher.json" <<'EOF'
{
  "name": "smoke-teacher",
  "input": {"channels": 1, "height": 28, "width": 28},
  "num_classes": 10,
  "stem": {"out_channels": 16},
  "stages": [
    {"name": "group1", "blocks": [{"residual": {"out_channels": 16}}]},
    {"name": "group2", "blocks": [{"residual": {"out_channels": 32, "stride": 2}}]}
  ],
  "head": {"batchnorm_relu": true}
}
EOF
cat > "$work/student.json" <<'EOF'
{
  "name": "smoke-student",
  "input": {"channels": 1, "height": 28, "width": 28},
  "num_classes": 10,
  "stem": {"out_channels": 8},
  "stages": [
    {"name": "group1", "blocks": [{"residual": {"out_channels": 8}}]},
    {"name": "group2", "blocks": [{"residual": {"out_channels": 16, "stride": 2}}]}
  ],
  "head": {"batchnorm_relu": true}
}
EOF
train_flags=(--dataset fashion-mnist --epochs "$epochs" --steps-per-epoch "$steps"
             --batch-size 32 --lr 0.1 --seed 7 --train-limit 1024 --test-limit 256
             --max-attempts 1)

# Queues a task, runs one worker on DEVICE for exactly that task, and waits
# for it: run_task LABEL DEVICE submit-flags... ; prints the task id.
run_task() {
  local label="$1" device="$2"
  shift 2
  local out id wpid
  out="$(ctl train submit "${train_flags[@]}" --name "smoke-$label" "$@" --json)" ||
    { echo "$out" >&2; return 1; }
  id="$(echo "$out" | grep -o '"task_id": *"\?[0-9]*' | head -1 | grep -o '[0-9]*$')"
  [ -n "$id" ] || { echo "no task id in: $out" >&2; return 1; }
  "$worker_bin" --server "$addr" --token-file "$work/worker.token" --name "smoke-w-$label" \
    --device "$device" --threads "${HAKD_SMOKE_THREADS:-1}" --max-tasks 1 --poll-ms 200 \
    --fashion-mnist-dir "$data" > "$work/worker-$label.log" 2>&1 &
  wpid=$!
  # (run in $(...): the worker is stopped here, not by the EXIT trap)
  local ok=1
  if ! ctl tasks watch "$id" > "$work/watch-$label.log" 2>&1; then
    tail -3 "$work/watch-$label.log" >&2
    tail -5 "$work/worker-$label.log" >&2
    ok=0
  fi
  # --max-tasks 1: it exits after the task; give it 30 s.
  for _ in $(seq 150); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.2; done
  kill -TERM "$wpid" 2>/dev/null || true
  wait "$wpid" 2>/dev/null || true
  [ "$ok" -eq 1 ] || return 1
  ctl tasks show "$id" --json > "$work/task-$label.json" || return 1
  echo "$id"
}
# The values of one history field of a task, in epoch order.
history_of() { grep -o "\"$2\": *[-0-9.eE+]*" "$work/task-$1.json" | sed 's/.*: *//'; }
model_of() { grep -o '"model_artifact_id": *"[^"]*"' "$work/task-$1.json" | head -1 | sed 's/.*: *"//; s/"$//'; }

# Compares the histories of FIELD between two tasks: one line per epoch, then
# "max X" (X: the largest relative difference, nan when there is none).
compare() {  # LABEL_A LABEL_B FIELD
  paste <(history_of "$1" "$3") <(history_of "$2" "$3") | awk -v la="$label_a" '
    NF == 2 { n++; d = $1 - $2; if (d < 0) d = -d; m = ($2 < 0 ? -$2 : $2); r = m > 0 ? d / m : d
      if (r > mx) mx = r
      printf "     epoch %d  %s %.6f  cpu %.6f  rel.diff %.2e\n", n, la, $1, $2, r }
    NF != 2 { bad = 1 }
    END { if (n == 0 || bad) print "max nan"; else printf "max %.3e\n", mx }'
}

echo
say "training: teacher on $side_a, then on cpu ($epochs epochs x $steps steps, seed 7)"
task_ta="$(run_task teacher-a "$side_a" --network "$work/teacher.json")" || failures+=("teacher task on $side_a failed")
task_tb="$(run_task teacher-cpu cpu --network "$work/teacher.json")" || failures+=("teacher task on cpu failed")
teacher_art=""
[ -n "$task_tb" ] && teacher_art="$(model_of teacher-cpu)"
if [ -n "$teacher_art" ]; then
  say "distillation: student from $teacher_art (the cpu teacher) on $side_a, then on cpu"
  task_sa="$(run_task student-a "$side_a" --network "$work/student.json" --teacher "$teacher_art")" ||
    failures+=("student task on $side_a failed")
  task_sb="$(run_task student-cpu cpu --network "$work/student.json" --teacher "$teacher_art")" ||
    failures+=("student task on cpu failed")
else
  failures+=("no teacher model to distil from")
fi

echo
echo "== loss histories: $label_a against cpu (same seed and data; tolerance rel. $rtol)"
max_rel="nan"
for pair in teacher student; do
  for field in train_loss test_loss; do
    [ -s "$work/task-$pair-a.json" ] && [ -s "$work/task-$pair-cpu.json" ] || continue
    echo "   $pair $field:"
    cmp="$(compare "$pair-a" "$pair-cpu" "$field")"
    echo "$cmp" | sed '$d'
    m="$(echo "$cmp" | tail -1 | sed 's/^max //')"
    echo "     max relative difference: $m"
    n_a="$(history_of "$pair-a" "$field" | wc -l)"
    [ "$n_a" -eq "$epochs" ] || failures+=("$pair $field: $n_a of $epochs epochs in the history")
    if [ "$m" = "nan" ] || awk -v m="$m" -v t="$rtol" 'BEGIN { exit !(m > t) }'; then
      failures+=("$pair $field: max relative difference $m exceeds $rtol")
    fi
    max_rel="$(awk -v a="$max_rel" -v b="$m" 'BEGIN { if (a == "nan" || b + 0 > a + 0) print b; else print a }')"
  done
done
ips() { history_of "$1" images_per_second 2>/dev/null | tail -1 | awk '{ printf "%.0f", $1 }'; }
ips_a="$(ips teacher-a)"
ips_b="$(ips teacher-cpu)"

# ---------------------------------------------------------------- summary
echo
echo "== summary ($([ "$cpu_only" -eq 1 ] && echo "--cpu-only: both sides on the cpu" || echo "$label_a against cpu"))"
echo "   latency: $a_ok/$expected shapes on $label_a, $rows rows joined, cpu/$label_a geometric mean $ratio"
echo "   training: tasks $label_a ${task_ta:-?} (teacher), ${task_sa:-?} (student); cpu ${task_tb:-?}, ${task_sb:-?}"
echo "   teacher images/s (last epoch): $label_a ${ips_a:-?}, cpu ${ips_b:-?}"
echo "   loss histories: max relative difference $max_rel (tolerance $rtol)"
if [ "${#failures[@]}" -gt 0 ]; then
  echo "FAILED:"
  printf '   - %s\n' "${failures[@]}"
  exit 1
fi
echo "PASSED"
