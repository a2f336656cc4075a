#!/usr/bin/env bash
# Quick start, first command: installs the packages, builds, and runs the
# main job on embedded defaults — a HAKD design job on this machine:
#   a local coordinator (SQLite database), a local agent timing this CPU and
#   a local CPU worker; a WRN-16-2 teacher (docs/examples/
#   wrn-16-2-fashion-teacher.json) trained on Fashion-MNIST (the Debian
#   package dataset-fashion-mnist); one latency budget on this CPU (half the
#   teacher's measured latency); the job's seven stages with live progress;
#   and the report: teacher and students side by side, plus an SVG plot.
# Everything it makes lives under run/ (or $HAKD_HOME):
#   run/hakd.db        the database (latency measurements, tasks, design jobs)
#   run/artifacts/     trained models
#   run/design.svg     accuracy against measured latency
#   run/*.token, run/auth.txt, run/*.log
# Environment (defaults): HAKD_PORT (50051), HAKD_BUDGET_FRACTION (0.5),
# HAKD_TEACHER_EPOCHS (3), HAKD_EPOCHS (2, every student), HAKD_TRAIN_LIMIT
# (12000 training images; 0: all 60000), HAKD_TEST_LIMIT (2000),
# HAKD_CANDIDATES (2), HAKD_BASELINES (uniform; also fisher, magnitude),
# HAKD_WORKER_THREADS (all cores).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HAKD_BUILD_DIR:-$root/build}"
home="${HAKD_HOME:-$root/run}"
fraction="${HAKD_BUDGET_FRACTION:-0.5}"
teacher="$root/docs/examples/wrn-16-2-fashion-teacher.json"

bash "$root/deploy/install-deps.sh"
echo "== building"
HAKD_BUILD_DIR="$build" bash "$root/deploy/build.sh"

# shellcheck source=deploy/local_farm.sh
source "$root/deploy/local_farm.sh"
started=$(date +%s)
farm_init "$home"
name="$(farm_device_name)"
echo "== starting the coordinator (database $home/hakd.db)"
FARM_PORT="${HAKD_PORT:-50051}" farm_start_server
echo "== starting the agent '$name' and a CPU worker"
farm_start_agent "$name" 1
farm_start_worker "$name-worker" "${HAKD_WORKER_THREADS:-$(nproc)}"
ctl devices list

echo "== timing the teacher end to end on '$name' (the budget is a share of it)"
ctl sweep start --device "$name" --network "$teacher" --label teacher-latency --watch
teacher_us="$(ctl latency export --device "$name" --units --format json 2>/dev/null \
  | grep -o '"median_us": *[0-9.]*' | tail -1 | sed 's/.*: *//')"
[ -n "$teacher_us" ] || { echo "quickstart: the teacher was not timed" >&2; exit 1; }
budget="$(awk -v us="$teacher_us" -v f="$fraction" 'BEGIN { printf "%.3f", us / 1000 * f }')"
echo "teacher: $(awk -v us="$teacher_us" 'BEGIN { printf "%.3f", us / 1000 }') ms; budget: $budget ms"

echo "== submitting the design job"
ctl design submit --name quickstart \
  --teacher-network "$teacher" --dataset fashion-mnist --budget "$name=$budget" \
  --candidates "${HAKD_CANDIDATES:-2}" --baselines "${HAKD_BASELINES:-uniform}" \
  --teacher-epochs "${HAKD_TEACHER_EPOCHS:-3}" --epochs "${HAKD_EPOCHS:-2}" \
  --train-limit "${HAKD_TRAIN_LIMIT:-12000}" --test-limit "${HAKD_TEST_LIMIT:-2000}" \
  --json > "$home/design-submit.json"
job="$(json_field job_id < "$home/design-submit.json")"
[ -n "$job" ] || { echo "quickstart: no job id in:" >&2; cat "$home/design-submit.json" >&2; exit 1; }
echo "design job $job"
ctl design watch "$job"

echo "== report"
ctl design report "$job" --plot "$home/design.svg"
echo
echo "main job took $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s (after the build)"
echo "database:  $home/hakd.db"
echo "plot:      $home/design.svg"
echo "(the coordinator, agent and worker stop now; to read the report again:"
echo "  $build/server/hakd-server --db $home/hakd.db --auth-file $home/auth.txt &"
echo "  $build/cli/hakdctl --token-file $home/reader.token design report $job --json)"
