#include "cmclip/train/operation_trace.hpp"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <fstream>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"

namespace cmclip::train {

// The stream outlives the profiler, which writes its events into it when destroyed.
struct OperationTrace::Recording {
  std::ofstream stream;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
};

OperationTrace::OperationTrace(const std::string& path) {
  if (path.empty()) return;
  output_ = std::make_unique<AtomicOutput>(path);
  recording_ = std::make_unique<Recording>();
  recording_->stream.open(output_->temp_path());
  if (!recording_->stream) throw RuntimeFailure(fmt::format("{}: cannot write the operation trace", path));
  recording_->profile = std::make_unique<torch::autograd::profiler::RecordProfile>(recording_->stream);
}

OperationTrace::~OperationTrace() = default;

void OperationTrace::finish() {
  if (!recording_) return;
  recording_->profile.reset();  // stops recording and writes the events
  recording_->stream.close();
  if (!recording_->stream) throw RuntimeFailure(fmt::format("{}: writing the operation trace failed", output_->path()));
  recording_.reset();
  output_->commit();
  log::info("operation trace in {} (open it in ui.perfetto.dev; scripts/bench/trace_summary.py sums it)",
            output_->path());
}

}  // namespace cmclip::train
