// TrainOptions on the command line (CLI11) and their checks.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/names.hpp"
#include "cmclip/train/trainer.hpp"

namespace cmclip::train {

namespace {
const Choices kSelectBy{"auc", "hter"};
const Choices kOversampledCopies{"distinct", "identical"};
}  // namespace

void TrainOptions::register_on(CLI::App& app, int64_t default_epochs) {
  epochs = default_epochs;
  auto* g = app.add_option_group("Training");
  g->add_option("--epochs", epochs, "Passes over the training set")->capture_default_str();
  g->add_option("--batch-size", batch_size,
                "Images per step and rank (even: half live, half attack; odd only without replay)")
      ->capture_default_str();
  g->add_option("--eval-batch-size", eval_batch_size, "Images per forward pass when scoring the dev set")
      ->capture_default_str();
  g->add_option("--select-by", select_by, "Keep the checkpoint with the best dev auc or hter")
      ->capture_default_str()
      ->check(one_of(kSelectBy.names()));
  g->add_flag("--resume", resume, "Continue the run from OUT.last.h5 (same options and thread count)");
  g->add_option("--loader-threads", loader_threads,
                "Threads that decode and augment the next batches while the model computes (0: automatic)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  g->add_option("--oversampled-copies", oversampled_copies,
                "Augmentation of the copies of an oversampled sample (small K): distinct draws, or identical "
                "(one draw per sample and epoch, for ablations)")
      ->capture_default_str()
      ->check(one_of(kOversampledCopies.names()));
  g->add_option("--profile", profile,
                "Write a trace of every operation of the run to FILE (Chrome trace format: ui.perfetto.dev; "
                "scripts/bench/trace_summary.py sums it); it slows the run")
      ->type_name("FILE");
  precision.register_on(*g);
  augment.register_on(app);
}

void TrainOptions::validate() const {
  if (epochs < 0) throw UsageError("--epochs must not be negative");
  if (batch_size < 1) throw UsageError(fmt::format("--batch-size {} must be positive", batch_size));
  if (eval_batch_size < 1) throw UsageError("--eval-batch-size must be positive");
  kSelectBy.check(select_by, "--select-by");
  kOversampledCopies.check(oversampled_copies, "--oversampled-copies");
  precision.validate();
  augment.validate();
}

}  // namespace cmclip::train
