// fas-eval as a library call: the evaluation (metrics/evaluation.hpp) and where its
// report and plots go.
#pragma once
#include <string>
#include <vector>

#include "cmclip/core/app.hpp"
#include "cmclip/metrics/evaluation.hpp"

namespace cmclip::jobs {

struct EvalJobOptions {
  metrics::EvalOptions evaluation;
  std::string format = "table";  // table | json | tsv
  std::string output = "-";
  std::vector<std::string> plots;
  std::string plot_type = "auto";  // auto (from the file name) | roc | det
  void register_on(CLI::App& app);
  void validate() const;
};

// Evaluates, then writes the report (-o, atomic, or stdout) and the plots: every file in
// full before any is renamed into place.
void run_eval(const EvalJobOptions& options, const CommonOptions& common);

}  // namespace cmclip::jobs
