#!/usr/bin/env bash
# Fault test: a real hakd-worker SIGKILLed mid-training. A small network
# trains on Fashion-MNIST (3 short epochs, a checkpoint uploaded after each);
# the worker is killed as soon as the first checkpoint is committed, its
# lease (3 s) expires, and a second worker with another name must resume the
# task from that checkpoint (its first epoch is the one after it, never
# epoch 1) and finish it: SUCCEEDED, 2 attempts, every epoch recorded once.
#
# Needs hakd-worker (BUILD_TORCH, default build/) and the Debian package
# dataset-fashion-mnist (or FASHION_MNIST_DIR); skipped (77) without them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data_dir="${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
epochs=3
require_bins "$server_bin" "$ctl_bin" "$worker_bin"
if ! ls "$data_dir"/train-images-idx3-ubyte* >/dev/null 2>&1; then
  echo "SKIP: no Fashion-MNIST in $data_dir (apt-get install dataset-fashion-mnist)" >&2
  exit "$FAULT_SKIP"
fi

make_auth
start_server --lease-ms 3000
cat > "$work/tiny.json" <<'EOF'
{
  "name": "fault-tiny",
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
ctl admin train submit --network "$work/tiny.json" --dataset fashion-mnist \
  --name fault-resume --epochs "$epochs" --batch-size 64 --lr 0.05 \
  --steps-per-epoch 60 --train-limit 4096 --test-limit 500 --json >"$work/submit.json"
task=$(grep -o '"task_id": *"\{0,1\}[0-9]*' "$work/submit.json" | grep -o '[0-9]*$' | head -1)
[ -n "$task" ] || { cat "$work/submit.json" >&2; echo "FAIL: no task id"; exit 1; }
log "task $task submitted; starting worker fault-w1"

start_worker() {  # NAME
  "$worker_bin" --server "127.0.0.1:$server_port" --token-file "$work/worker.token" \
    --name "$1" --threads 1 --loader-threads 1 --poll-ms 100 --max-backoff-ms 1000 \
    --fashion-mnist-dir "$data_dir" 2>"$work/$1.log" &
  worker_pid=$!
  fault_pids+=($worker_pid)
}

show() { ctl reader tasks show "$task" --json; }

start_worker fault-w1
w1_pid=$worker_pid
ckpt=""
for _ in $(seq 600); do
  ckpt=$(show 2>/dev/null | grep -o '"checkpoint_artifact_id": *"[^"]*"' | cut -d'"' -f4 || true)
  [ -n "$ckpt" ] && break
  kill -0 "$w1_pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$ckpt" ] || { tail "$work/fault-w1.log" >&2; echo "FAIL: no checkpoint within 120 s"; exit 1; }
kill -9 "$w1_pid"
wait "$w1_pid" 2>/dev/null || true
t_kill=$SECONDS
show >"$work/at-kill.json"
# Epochs finished when killed: the checkpoint is uploaded right after each
# epoch is reported, and the kill follows the first checkpoint at once.
ckpt_epoch=$(grep -o '"test_accuracy"' "$work/at-kill.json" | wc -l)
log "fault-w1 SIGKILLed with checkpoint $ckpt (after epoch ${ckpt_epoch:-?})"
fail=0
if grep -q TASK_SUCCEEDED "$work/at-kill.json"; then
  echo "FAIL: the task finished before the kill; make the epochs longer"
  exit 1
fi

start_worker fault-w2
w2_pid=$worker_pid
requeue_s="none"
for _ in $(seq 300); do
  if grep -q "leased task $task" "$work/fault-w2.log" 2>/dev/null; then
    requeue_s=$((SECONDS - t_kill))
    break
  fi
  sleep 0.1
done
set +e
timeout 180 "$ctl_bin" --server "127.0.0.1:$server_port" --token-file "$work/reader.token" \
  tasks watch "$task" >"$work/watch.txt" 2>&1
watch_rc=$?
set -e
show >"$work/final.json"
kill -TERM "$w2_pid" 2>/dev/null || true

state=$(grep -o '"state": *"[A-Z_]*"' "$work/final.json" | head -1 | cut -d'"' -f4)
worker=$(grep -o '"worker": *"[^"]*"' "$work/final.json" | head -1 | cut -d'"' -f4)
attempts=$(grep -o '"attempts": *[0-9]*' "$work/final.json" | head -1 | grep -o '[0-9]*$')
resumed=$(grep -o "task $task: resumed after epoch [0-9]*" "$work/fault-w2.log" | grep -o '[0-9]*$' || true)
w2_epochs=$(grep -o "task $task epoch [0-9]*:" "$work/fault-w2.log" | grep -o '[0-9]*:$' | tr -d : | paste -sd, || true)
first_w2_epoch=${w2_epochs%%,*}
history=$(grep -o '"test_accuracy"' "$work/final.json" | wc -l)

[ "$watch_rc" -eq 0 ] || { log "tasks watch exited $watch_rc"; fail=1; }
[ "$state" = TASK_SUCCEEDED ] || { log "state $state"; fail=1; }
[ "$worker" = fault-w2 ] || { log "finished by '$worker', not fault-w2"; fail=1; }
[ "$attempts" = 2 ] || { log "attempts $attempts, expected 2"; fail=1; }
[ -n "$ckpt_epoch" ] && [ "$resumed" = "$ckpt_epoch" ] || {
  log "resumed after epoch '${resumed}', checkpoint was after epoch '${ckpt_epoch}'"; fail=1; }
[ -n "$first_w2_epoch" ] && [ "$first_w2_epoch" = $((ckpt_epoch + 1)) ] || {
  log "fault-w2 trained epochs '$w2_epochs', expected to start at $((ckpt_epoch + 1))"; fail=1; }
[ "$history" -eq "$epochs" ] || { log "$history epochs in the history, expected $epochs"; fail=1; }

echo "== worker_kill summary =="
echo "task: $task, $epochs epochs, lease 3 s"
echo "fault-w1 SIGKILLed after epoch ${ckpt_epoch:-?} (checkpoint $ckpt)"
echo "requeued and leased by fault-w2 after: ${requeue_s} s"
echo "fault-w2: resumed after epoch ${resumed:-none}, trained epochs ${w2_epochs:-none}"
echo "final: state $state, worker $worker, attempts $attempts, epochs in history $history"
echo "runtime: $(elapsed)"
if [ "$fail" -eq 0 ]; then
  echo "PASS"
else
  echo "FAIL"
  exit 1
fi
