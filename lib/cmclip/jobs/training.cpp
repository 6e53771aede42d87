#include "cmclip/jobs/training.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/train/distributed.hpp"

namespace cmclip::jobs::training {

std::optional<Modality> modality_filter(const std::string& name) {
  if (name.empty() || name == "all") return std::nullopt;
  return parse_modality(name);
}

void check_prompt_modality(const model::FasModel& m, std::optional<Modality> mod, const std::string& what) {
  if (!mod || m->method() != model::Method::cm_clip) return;
  const auto& names = m->options().modalities;
  for (const auto& n : names)
    if (parse_modality(n) == *mod) return;
  throw UsageError(fmt::format("{} is {}, which the model's prompts do not describe (--prompt-modalities {})", what,
                               modality_name(*mod), fmt::join(names, ",")));
}

std::optional<train::DevSet> open_dev(const std::string& path, const std::string& modality, const std::string& fallback,
                                      std::unique_ptr<SampleStore>& holder) {
  if (path.empty()) return std::nullopt;
  holder = std::make_unique<SampleStore>(path);
  train::DevSet d{holder.get(), modality_filter(modality.empty() ? fallback : modality)};
  return d;
}

std::string training_device(const std::string& requested) {
  std::string device = train::rank_device(requested, train::read_dist_env());
  parse_device(device);
  return device;
}

void check_outputs(const train::TrainOptions& training) {
  check_output_path(training.output);
  check_output_path(train::last_checkpoint_path(training.output));
  if (!training.profile.empty()) check_output_path(training.profile);
}

void log_result(const train::TrainResult& r, const train::TrainJob& job, const std::string& output) {
  if (r.stopped_early) return;
  bool probe = job.model->model->method() == model::Method::linear_probe;
  std::string done = probe ? "fitted" : fmt::format("{} epochs", r.epochs_done);
  if (r.best_dev)
    log::info("done: {}; {} dev AUC {:.4f}, HTER {:.4f}; model in {}", done,
              probe               ? "its"
              : job.select_by_dev ? "best"
                                  : "last epoch's",
              r.best_dev->auc, r.best_dev->hter, output);
  else log::info("done: {}; model in {}", done, output);
}

void apply_method_preset(model::Method method, const train::MethodPreset& preset,
                         const std::function<bool(const std::string& flag)>& given, train::PresetTargets targets) {
  train::apply_preset(preset, given, targets);
  if (method != model::Method::linear_probe) return;
  std::vector<std::string> unused;
  for (const char* flag : {"--epochs", "--batch-size", "--optimizer", "--lr", "--min-lr", "--weight-decay",
                           "--momentum", "--clip-grad-norm", "--warmup-steps", "--warmup-lr", "--warmup-type"})
    if (given(flag)) unused.push_back(flag);
  if (!unused.empty())
    log::warn("linear-probe is fitted by L-BFGS on frozen features: {} do not apply and are ignored",
              fmt::join(unused, " "));
}

void register_dev(CLI::App& app, std::string& path, const char* help) {
  app.add_option("--dev", path, help)->check(CLI::ExistingFile);
}

void register_run(CLI::App& app, model::ModelOptions& model, train::TrainOptions& training,
                  train::OptimizerOptions& optimizer, int64_t default_epochs) {
  app.add_option("-o,--output", training.output, "Checkpoint to write (also OUT.last.h5 for --resume)")->required();
  model.register_on(app);
  training.register_on(app, default_epochs);
  optimizer.register_on(app);
}

}  // namespace cmclip::jobs::training
