#!/usr/bin/env bash
# Writes the hand-made seed inputs of every fuzz target into corpus/<name>/
# (re-run after changing a seed below). Other files there are kept: inputs
# merged from fuzzing runs and the crash inputs of fixed bugs
# (regression_*). Protobuf seeds are text format encoded with protoc;
# binary files are assembled with python3.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="$here/corpus"

# encode MESSAGE OUT [PREFIX_BYTE]: text format on stdin -> binary file,
# optionally after one selector byte (given as a decimal number).
encode() {
  local message="$1" out="$2" prefix="${3:-}"
  mkdir -p "$(dirname "$out")"
  {
    [ -n "$prefix" ] && printf "\\$(printf '%03o' "$prefix")"
    protoc -I "$root/proto" --encode="hakd.v1.$message" \
      hakd/v1/agent_service.proto hakd/v1/latency_service.proto \
      hakd/v1/training.proto hakd/v1/design.proto
  } > "$out"
}

# A WRN-style network for 3x32x32 inputs as text format (fields of
# NetworkSpec), used by several seeds.
small_net='
  name: "tiny" input { channels: 3 height: 32 width: 32 } num_classes: 10
  stem { out_channels: 16 }
  stages { name: "group1" blocks { residual { out_channels: 16 } } }
  stages { blocks { residual { out_channels: 32 stride: 2
                               cheap { type: TYPE_GROUPED groups: 4 } } } }
  head { batchnorm_relu: true }'
fashion_net='
  input { channels: 1 height: 28 width: 28 } num_classes: 10
  stem { out_channels: 16 }
  stages { blocks { residual { out_channels: 16 } } }
  stages { blocks { residual { out_channels: 32 stride: 2 } } }
  head { batchnorm_relu: true }'

# --- layer_spec: LayerSpec binaries and kind names -------------------------
d="$corpus/layer_spec"
encode LayerSpec "$d/conv3x3" <<< 'kind: LAYER_KIND_CONV2D batch: 1 in_channels: 32 out_channels: 32 height: 32 width: 32 kernel: 3 stride: 1 padding: 1 groups: 1 dtype: DTYPE_FLOAT32'
encode LayerSpec "$d/depthwise" <<< 'kind: LAYER_KIND_CONV2D batch: 1 in_channels: 64 out_channels: 64 height: 16 width: 16 kernel: 3 stride: 2 padding: 1 groups: 64'
encode LayerSpec "$d/linear" <<< 'kind: LAYER_KIND_LINEAR batch: 8 in_channels: 512 out_channels: 10'
encode LayerSpec "$d/maxpool" <<< 'kind: LAYER_KIND_MAX_POOL batch: 1 in_channels: 16 out_channels: 16 height: 32 width: 32 kernel: 2 stride: 2'
encode LayerSpec "$d/bnrelu" <<< 'kind: LAYER_KIND_BATCHNORM_RELU batch: 1 in_channels: 16 out_channels: 16 height: 8 width: 8'
encode LayerSpec "$d/bad_groups" <<< 'kind: LAYER_KIND_CONV2D batch: 1 in_channels: 30 out_channels: 32 height: 8 width: 8 kernel: 3 stride: 1 padding: 1 groups: 4'
encode LayerSpec "$d/huge" <<< 'kind: LAYER_KIND_CONV2D batch: 4096 in_channels: 65536 out_channels: 65536 height: 8192 width: 8192 kernel: 31 stride: 1 padding: 15 groups: 1'
printf 'conv2d' > "$d/name_conv2d"
printf 'BnReLU' > "$d/name_bnrelu"

# --- agent_message: AgentMessage (hello, batches) --------------------------
d="$corpus/agent_message"
measurement='backend: "cpu" threads: 1 median_us: 100 p10_us: 90 p90_us: 120 mean_us: 105 stddev_us: 5 samples: 3 runs_per_sample: 10 measured_unix_ms: 1700000000000 run_id: "sweep-1" sweep_id: 1 cv: 0.05 attempts: 1 samples_us: [95, 100, 120] state { frequency_governor: "performance" frequency_khz: 2400000 temperature_c: 45 load_average_1m: 0.5 }'
encode AgentMessage "$d/hello" <<< 'hello { name: "rpi4-lab1" facts { hostname: "rpi" arch: "aarch64" cpu_cores: 4 } heartbeat_interval_ms: 1000 }'
encode AgentMessage "$d/batch_layer" <<< "batch { batch_id: \"b-1\" measurements { layer { kind: LAYER_KIND_CONV2D batch: 1 in_channels: 8 out_channels: 8 height: 16 width: 16 kernel: 3 stride: 1 padding: 1 groups: 1 } $measurement item_index: 0 } failures { sweep_id: 1 item_index: 1 error: \"out of memory\" } }"
encode AgentMessage "$d/batch_unit" <<< "batch { batch_id: \"b:2\" measurements { unit { block { input { channels: 16 height: 16 width: 16 } block { residual { out_channels: 32 stride: 2 cheap { type: TYPE_BOTTLENECK bottleneck: 2 } } } } } $measurement } }"
encode AgentMessage "$d/batch_network" <<< "batch { batch_id: \"b.3\" measurements { unit { network { $small_net } } $measurement } }"

# --- network_json: the documented examples and a few more ------------------
d="$corpus/network_json"
mkdir -p "$d"
cp "$root/docs/examples/wrn-16-2-student.json" "$d/wrn-16-2-student.json"
cp "$root/docs/examples/wrn-16-2-fashion-teacher.json" "$d/wrn-16-2-fashion-teacher.json"
cat > "$d/dense_camel.json" <<'EOF'
{"input": {"channels": 3, "height": 32, "width": 32}, "numClasses": 100,
 "stem": {"outChannels": 24, "batchnormRelu": true},
 "stages": [{"blocks": [{"dense": {"growth": 12}},
                        {"dense": {"growth": 12, "bottleneckChannels": 24,
                                   "cheap": {"type": "TYPE_DEPTHWISE_SEPARABLE"}}},
                        {"transition": {"outChannels": 24}}]},
            {"blocks": [{"separable": {"out_channels": 48, "stride": 2, "kernel": 5}}]}],
 "head": {"batchnorm_relu": true}}
EOF
printf '{"input": {"channels": 3, "height": 32, "width": 31}, "num_classes": 10}' > "$d/bad_input.json"
printf '{"input": {"channels": 3, "height": 32, "width": 32}, "num_classes": 10, "stem": {"out_channels": 8}, "stages": [{"blocks": [{"residual": {"out_channels": 8, "unknown": 1}}]}]}' > "$d/unknown_field.json"

# --- network_spec: NetworkSpec binaries -----------------------------------
d="$corpus/network_spec"
encode NetworkSpec "$d/tiny" <<< "$small_net"
encode NetworkSpec "$d/bottleneck" <<< '
  input { channels: 3 height: 32 width: 32 } num_classes: 10 stem { out_channels: 16 }
  stages { blocks { residual { out_channels: 48 stride: 2 cheap { type: TYPE_BOTTLENECK_GROUPED bottleneck: 2 groups: 2 } } } }'
encode NetworkSpec "$d/dense" <<< '
  input { channels: 1 height: 28 width: 28 } num_classes: 10 stem { out_channels: 8 kernel: 5 stride: 2 batchnorm_relu: true }
  stages { blocks { dense { growth: 4 } } blocks { transition { out_channels: 8 } } }
  stages { blocks { separable { out_channels: 16 stride: 2 } } }'

# --- auth_file --------------------------------------------------------------
d="$corpus/auth_file"
mkdir -p "$d"
printf '# HAKD tokens\nadmin admin-0123456789abcdef\nagent\tagent-0123456789abcdef  # board\n\nreader reader-0123456789abcdef\nworker worker-0123456789abcdef\n' > "$d/valid"
printf 'admin short\n' > "$d/short_token"
printf 'root root-0123456789abcdef\n' > "$d/unknown_role"
printf 'admin same-0123456789abcdef\nreader same-0123456789abcdef\n' > "$d/duplicate"

# --- idx, cifar, artifact_file: binary files --------------------------------
/usr/bin/python3 - "$corpus" <<'EOF'
import gzip, hashlib, os, struct, subprocess, sys
corpus = sys.argv[1]
def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
# IDX: selector byte 0 images, 1 labels, 2 a file read through the gzip reader.
images = struct.pack(">IIII", 0x803, 2, 3, 3) + bytes(range(18))
labels = struct.pack(">II", 0x801, 2) + bytes([3, 9])
d = os.path.join(corpus, "idx")
write(os.path.join(d, "images"), b"\x00" + images)
write(os.path.join(d, "labels"), b"\x01" + labels)
write(os.path.join(d, "images_truncated"), b"\x00" + images[:-1])
write(os.path.join(d, "labels_bad_label"), b"\x01" + labels[:-1] + b"\x0a")
write(os.path.join(d, "images_gz"), b"\x02" + gzip.compress(images, mtime=0))
write(os.path.join(d, "labels_plain_file"), b"\x02" + labels)
# CIFAR-10: one record (label + 3072 bytes), one with a bad label.
record = bytes([7]) + bytes(i % 256 for i in range(3072))
d = os.path.join(corpus, "cifar")
write(os.path.join(d, "one_record"), record)
write(os.path.join(d, "bad_label"), bytes([10]) + record[1:])
write(os.path.join(d, "truncated"), record[:100])
EOF

# Artifact files: selector byte 1 = body without digest (the target appends
# it), 0 = the whole file.
encode NetworkSpec "$corpus/.tiny.pb" <<< "$small_net"
/usr/bin/python3 - "$corpus" <<'EOF'
import hashlib, os, struct, sys
corpus = sys.argv[1]
spec = open(os.path.join(corpus, ".tiny.pb"), "rb").read()
os.remove(os.path.join(corpus, ".tiny.pb"))
def body(kind, payload):
    return (b"HAKDART1" + struct.pack("<II", 1, kind) + struct.pack("<Q", len(spec)) +
            spec + struct.pack("<Q", len(payload)) + payload)
d = os.path.join(corpus, "artifact_file")
os.makedirs(d, exist_ok=True)
model = body(1, b"weights")
open(os.path.join(d, "model_body"), "wb").write(b"\x01" + model)
open(os.path.join(d, "checkpoint_body"), "wb").write(b"\x01" + body(2, b""))
open(os.path.join(d, "model_file"), "wb").write(
    b"\x00" + model + hashlib.sha256(model).digest())
open(os.path.join(d, "bad_lengths"), "wb").write(
    b"\x01" + model[:16] + struct.pack("<Q", 1 << 63) + model[24:])
EOF

# --- family_spec: --family values -------------------------------------------
d="$corpus/family_spec"
mkdir -p "$d"
printf 'conv2d:k=3:c=8-256/8:res=32,16,8:s=2:dw' > "$d/conv_dw"
printf 'linear:c=10-1000/10:in=512:b=4' > "$d/linear"
printf 'maxpool:k=2:c=16:res=32' > "$d/maxpool"
printf 'conv2d:k=3:c=8-256:res=32:g=4:in=64' > "$d/conv_groups"
printf 'bnrelu:c=16-64/16:res=8::b=1' > "$d/empty_part"

# --- sweep_request: StartSweepRequest ---------------------------------------
d="$corpus/sweep_request"
encode StartSweepRequest "$d/preset_smoke" <<< 'device: "vm" preset: "smoke" chunk_size: 16'
encode StartSweepRequest "$d/families" <<< '
  device: "vm" families { kind: LAYER_KIND_CONV2D kernel: 3 channels { start: 8 stop: 64 step: 8 } resolutions: [32, 16] }
  families { kind: LAYER_KIND_LINEAR channels { start: 10 stop: 100 step: 10 } in_channels: 512 batch: 2 }
  families { kind: LAYER_KIND_AVG_POOL kernel: 2 channels { start: 16 stop: 16 } resolutions: [8] }'
encode StartSweepRequest "$d/units" <<< "
  device: \"vm\" label: \"calibration\"
  units { block { input { channels: 16 height: 32 width: 32 } block { separable { out_channels: 32 } } } }
  units { block { input { channels: 32 height: 8 width: 8 } head { batchnorm_relu: true } num_classes: 10 } }
  units { network { $small_net } }"

# --- training_request: SubmitTrainingRequest ---------------------------------
d="$corpus/training_request"
encode SubmitTrainingRequest "$d/teacher" <<< "spec { name: \"teacher\" network { $fashion_net } dataset: \"fashion-mnist\" schedule { epochs: 10 batch_size: 128 learning_rate: 0.1 lr_schedule: \"step\" step_milestones: [3, 6, 8] warmup_epochs: 1 } } max_attempts: 3"
encode SubmitTrainingRequest "$d/student" <<< "spec { network { $small_net } dataset: \"cifar10\" distillation { teacher_artifact_id: \"art-3f2a9c1d0b7e-1\" temperature: 4 alpha: 0.9 beta: 1000 } init_artifact_id: \"art-00aa-2\" keep_weights: 1000 }"
encode SubmitTrainingRequest "$d/saliency" <<< "spec { network { $fashion_net } dataset: \"fashion-mnist\" kind: TASK_KIND_SALIENCY init_artifact_id: \"art-1\" saliency_examples: 256 }"
encode SubmitTrainingRequest "$d/fisher" <<< "spec { network { $fashion_net } dataset: \"fashion-mnist\" kind: TASK_KIND_FISHER_PRUNE init_artifact_id: \"art-1\" fisher { steps_between_prunes: 10 channels_per_prune: 1 min_width: 1 tables { device: \"vm\" budget_us: 500 fixed_us: 20 blocks { stage: 1 block: 0 us_by_width: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32] } } } }"

# --- design_request: SubmitDesignRequest ------------------------------------
d="$corpus/design_request"
encode SubmitDesignRequest "$d/teacher_network" <<< "spec { name: \"d\" teacher_network { $fashion_net } dataset: \"fashion-mnist\" budgets { device: \"vm\" budget_ms: 5 } budgets { device: \"rpi\" budget_ms: 12.5 } candidates: 2 baselines: [BASELINE_UNIFORM, BASELINE_FISHER, BASELINE_MAGNITUDE] width_step: 4 teacher_schedule { epochs: 3 } student_schedule { epochs: 2 } distillation { temperature: 4 alpha: 0.9 } }"
encode SubmitDesignRequest "$d/teacher_artifact" <<< 'spec { teacher_artifact_id: "art-3f2a9c1d0b7e-1" dataset: "cifar10" budgets { device: "jetson" budget_ms: 3 } }'

# --- worker_requests: selector byte, then the request -----------------------
d="$corpus/worker_requests"
encode RegisterWorkerRequest "$d/register" 0 <<< 'name: "gpu-box.1" capabilities { device: "cuda:0" device_name: "NVIDIA H100" memory_bytes: 80000000000 cpu_threads: 16 torch_version: "1.13.1" }'
encode ReportProgressRequest "$d/progress" 1 <<< 'lease_id: "0123456789abcdef0123456789abcdef" progress { epoch: 2 epochs: 10 step: 5 steps_per_epoch: 100 loss: 0.5 train_accuracy: 0.8 images_per_second: 900 phase: "train" } finished_epoch { epoch: 1 train_loss: 0.6 train_accuracy: 0.7 test_loss: 0.55 test_accuracy: 0.75 images_per_second: 880 seconds: 60 learning_rate: 0.1 }'
encode DownloadArtifactRequest "$d/download" 2 <<< 'lease_id: "0123456789abcdef0123456789abcdef" artifact_id: "art-3f2a9c1d0b7e-1"'
encode ArtifactChunk "$d/upload_header" 3 <<< 'header { lease_id: "0123456789abcdef0123456789abcdef" kind: "model" size_bytes: 1024 sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }'
encode CompleteTaskRequest "$d/complete" 4 <<< 'lease_id: "0123456789abcdef0123456789abcdef" model_artifact_id: "art-3f2a9c1d0b7e-2" saliency { stage: 0 block: 0 channels: [0.5, 0.25] } nonzero_params: 100'
echo "make_corpus.sh: seeds written under $corpus"
