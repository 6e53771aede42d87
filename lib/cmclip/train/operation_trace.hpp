// fas-pretrain/fas-fewshot --profile FILE: every LibTorch operation of a training run
// (and cmclip's own products and attention, which call oneDNN directly) with its start
// and duration, as a Chrome trace (chrome://tracing or ui.perfetto.dev). The file is
// written when the run ends, atomically: a failed run leaves none.
// scripts/bench/trace_summary.py prints where the time went, operation by operation.
#pragma once
#include <memory>
#include <string>

namespace cmclip {
class AtomicOutput;
}

namespace cmclip::train {

class OperationTrace {
 public:
  // An empty path records nothing. Otherwise checks at once that FILE can be written.
  explicit OperationTrace(const std::string& path);
  ~OperationTrace();
  OperationTrace(const OperationTrace&) = delete;
  OperationTrace& operator=(const OperationTrace&) = delete;

  // Stops recording and writes the trace to its file.
  void finish();

 private:
  struct Recording;
  std::unique_ptr<AtomicOutput> output_;
  std::unique_ptr<Recording> recording_;
};

}  // namespace cmclip::train
