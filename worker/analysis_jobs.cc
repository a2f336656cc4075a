#include "worker/analysis_jobs.h"

#include "absl/strings/str_cat.h"
#include "common/torch/model_artifact.h"
#include "common/torch/network_module.h"
#include "worker/fisher_pruner.h"
#include "worker/fisher_saliency.h"
#include "worker/job_setup.h"
#include "worker/training_config.h"

namespace hakd::worker {
namespace {

// What both kinds share: the resolved schedule, the training split, and
// the spec's network holding the init model's weights.
struct Start {
  TrainerConfig config;
  std::unique_ptr<JobData> data;
  std::unique_ptr<TorchNetwork> network;
};

absl::StatusOr<Start> StartFromInitModel(const hakd::v1::TrainingTask& task,
                                         const JobContext& context) {
  const hakd::v1::TrainingSpec& spec = task.spec();
  if (spec.init_artifact_id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.init_artifact_id: required: a ", hakd::v1::TaskKind_Name(spec.kind()),
        " task starts from a trained model"));
  }
  Start start;
  absl::StatusOr<TrainerConfig> config = ToTrainerConfig(spec);
  if (!config.ok()) return config.status();
  start.config = *config;
  start.config.loader_threads = context.loader_threads;
  absl::StatusOr<std::unique_ptr<JobData>> data = LoadJobData(spec, context, /*with_test=*/false);
  if (!data.ok()) return data.status();
  start.data = std::move(*data);
  SeedTorch(start.config.seed);
  NetworkModuleOptions module_options;
  module_options.device = context.device;
  absl::StatusOr<std::unique_ptr<TorchNetwork>> network = BuildNetworkModule(spec.network(), module_options);
  if (!network.ok()) return network.status();
  start.network = std::move(*network);
  if (absl::Status st = LoadInitWeights(spec, context, start.network.get()); !st.ok()) return st;
  return start;
}

// spec.network with every residual block's mid width as in `pruned`.
hakd::v1::NetworkSpec PrunedSpec(const hakd::v1::NetworkSpec& original, const PlainNetwork& pruned) {
  hakd::v1::NetworkSpec spec = original;
  for (int s = 0; s < spec.stages_size(); ++s) {
    for (int b = 0; b < spec.stages(s).blocks_size(); ++b) {
      hakd::v1::Block* block = spec.mutable_stages(s)->mutable_blocks(b);
      if (!block->has_residual()) continue;
      const int width = pruned.stages[s][b].mid_channels;
      if (width != ToPlainBlock(*block).mid_channels) block->mutable_residual()->set_mid_channels(width);
    }
  }
  return spec;
}

}  // namespace

absl::StatusOr<JobResult> RunSaliencyJob(const hakd::v1::TrainingTask& task,
                                         const JobContext& context) {
  absl::StatusOr<Start> start = StartFromInitModel(task, context);
  if (!start.ok()) return start.status();
  absl::StatusOr<SaliencyOptions> options = ToSaliencyOptions(task.spec(), start->config);
  if (!options.ok()) return options.status();
  options->on_batch = [&](int64_t done, int64_t total) {
    if (!context.on_step) return true;
    StepProgress p;
    p.epoch = 1;
    p.epochs = 1;
    p.step = done;
    p.steps = total;
    p.phase = "saliency";
    return context.on_step(p);
  };
  absl::StatusOr<std::vector<BlockSaliency>> saliency =
      ComputeFisherSaliency(start->network.get(), *start->data->train, *options);
  if (!saliency.ok()) return saliency.status();
  JobResult result;
  for (const BlockSaliency& s : *saliency) {
    hakd::v1::BlockSaliency out;
    out.set_stage(s.stage);
    out.set_block(s.block);
    out.mutable_channels()->Add(s.channels.begin(), s.channels.end());
    result.saliency.push_back(std::move(out));
  }
  return result;
}

absl::StatusOr<JobResult> RunFisherPruneJob(const hakd::v1::TrainingTask& task,
                                            const JobContext& context) {
  const hakd::v1::TrainingSpec& spec = task.spec();
  absl::StatusOr<Start> start = StartFromInitModel(task, context);
  if (!start.ok()) return start.status();
  absl::StatusOr<FisherPruneOptions> options = ToFisherPruneOptions(spec, start->config);
  if (!options.ok()) return options.status();
  auto on_progress = [&](const PruneProgress& p) {
    if (!context.on_step) return true;
    StepProgress out;
    out.epoch = 1;
    out.epochs = 1;
    out.step = p.channels_removed;
    out.steps = p.channels_to_remove;
    out.loss = p.loss;
    out.accuracy = p.accuracy;
    out.images_per_second = p.images_per_second;
    out.phase = "prune";
    return context.on_step(out);
  };
  absl::StatusOr<PruneResult> pruned =
      FisherPrune(std::move(start->network), *start->data->train, *options, on_progress);
  if (!pruned.ok()) return pruned.status();
  JobResult result;
  result.result_network = PrunedSpec(spec.network(), pruned->network->plain());
  result.channels_removed = pruned->channels_removed;
  absl::StatusOr<std::string> model = EncodeModelArtifact(*result.result_network, *pruned->network);
  if (!model.ok()) return model.status();
  result.model_artifact = std::move(*model);
  return result;
}

}  // namespace hakd::worker
