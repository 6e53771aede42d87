// The frame every fas-* tool runs in (docs/design.md §5): the common options, parsing,
// logging set-up, and the one place where errors become a message and an exit status.
//
//   int main(int argc, char** argv) {
//     return cmclip::run_tool(argc, argv, {"fas-x", "one line", kDescription}, cmclip::jobs::run_x);
//   }
//
// run_tool is that main for a job `run_x(const XOptions&, const CommonOptions&)` whose
// options struct registers itself (XOptions::register_on); Tool is the frame beneath it.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace cmclip {

struct CommonOptions {
  bool verbose = false;
  bool quiet = false;
  int threads = 0;  // the thread budget; 0: default_threads() (runtime.hpp)
  std::string device = "cpu";
  uint64_t seed = 0;
  bool seed_given = false;
};

class Tool {
 public:
  // `summary` is the one-line purpose; `description` the paragraphs --help prints
  // after it (a small manual: what the tool reads and writes, an example).
  Tool(std::string name, const std::string& summary, const std::string& description);

  CLI::App& cli() { return app_; }
  const CommonOptions& common() const { return common_; }
  const std::string& name() const { return name_; }

  // Parses, sets up logging/threads/seed, runs `body`, maps errors to exit status:
  // 0 success (also --help, --version), 1 runtime failure, 2 bad usage or bad input.
  int run(int argc, char** argv, const std::function<void()>& body);

  // Tools that run no model (fas-preprocess, fas-synth, fas-eval) hide the device
  // option; their work runs on their own worker threads, not OpenMP's, so they also
  // skip the restart that sets the OpenMP waiting policy (core/runtime.hpp).
  void without_device_option();

 private:
  std::string name_;
  CLI::App app_;
  CommonOptions common_;
  CLI::Option* device_opt_ = nullptr;
  bool runs_model_ = true;
};

// What a tool is: its name, the one-line summary and the --help description, and
// whether it runs a model (false: no --device, see Tool::without_device_option).
struct ToolInfo {
  std::string name, summary, description;
  bool runs_model = true;
};

// The whole main of a fas-* tool: the job's options register on the command line, then
// `job` runs with them and the common options inside Tool::run.
template <class Options, class Result>
int run_tool(int argc, char** argv, const ToolInfo& info, Result (*job)(const Options&, const CommonOptions&)) {
  Tool tool(info.name, info.summary, info.description);
  if (!info.runs_model) tool.without_device_option();
  Options options;
  options.register_on(tool.cli());
  return tool.run(argc, argv, [&] { job(options, tool.common()); });
}

// Option groups register themselves on a parser, so tools compose them (Kaldi style).
// Helper for options whose value must be one of a fixed set.
CLI::Validator one_of(const std::vector<std::string>& choices);

}  // namespace cmclip
