#include "cmclip/core/app.hpp"

#include <c10/util/Exception.h>

#include <algorithm>
#include <iostream>
#include <new>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/core/signals.hpp"

namespace cmclip {

namespace {
// Wider option column and a footer on every tool.
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter() { column_width(34); }
};
// Levenshtein distance, for "did you mean" hints.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Option groups and named subcommands alike: an option of any of them is known (CLI11
// itself then says when it was given to the wrong subcommand).
void collect_long_names(const CLI::App* app, std::vector<std::string>& out) {
  for (const CLI::Option* o : app->get_options())
    for (const auto& n : o->get_lnames()) out.push_back("--" + n);
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) collect_long_names(sub, out);
}

// An unknown long option is reported before anything else (CLI11 would first complain
// about a missing required option, which hides the typo), with the closest known name.
std::string unknown_option_message(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    std::string name = arg.substr(0, arg.find('='));
    std::vector<std::string> known;
    collect_long_names(&app, known);
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string best;
    size_t best_d = 3;  // only close matches
    for (const auto& k : known) {
      size_t d = edit_distance(name, k);
      if (d < best_d) {
        best_d = d;
        best = k;
      }
    }
    return fmt::format("unknown option {}{}", name, best.empty() ? "" : fmt::format(" (did you mean {}?)", best));
  }
  return "";
}
}  // namespace

CLI::Validator one_of(const std::vector<std::string>& choices) {
  std::string joined;
  for (const auto& c : choices) joined += (joined.empty() ? "" : "|") + c;
  return CLI::Validator(
      [choices, joined](std::string& value) -> std::string {
        for (const auto& c : choices)
          if (value == c) return "";
        return fmt::format("'{}' is not one of {}", value, joined);
      },
      joined, "one_of");
}

Tool::Tool(std::string name, const std::string& summary, const std::string& description)
    : name_(std::move(name)), app_(summary, name_) {
  app_.formatter(std::make_shared<HelpFormatter>());
  app_.footer(description +
              "\n\nExit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n"
              "Manual: man " +
              name_ + "; file formats: man fas-formats; overview: man fas-pipeline.");
  app_.set_config("--config", "", "Read options from a TOML/INI file (key = value, one per option)");
  app_.set_version_flag(
      "--version", [this] { return version_report(name_); },
      "Print version, commit, LibTorch, BLAS, HDF5, OpenCV and CUDA details");
  auto* g = app_.add_option_group("Common options");
  g->add_flag("-v,--verbose", common_.verbose, "Log more detail (debug level)");
  g->add_flag("-q,--quiet", common_.quiet, "Log only warnings and errors; no progress");
  g->add_option("--threads", common_.threads,
                "Threads (default: the CPUs this process may use: its affinity mask, cgroup CPU quota and "
                "$SLURM_CPUS_PER_TASK; see the manual for how they are shared)")
      ->check(CLI::NonNegativeNumber);
  device_opt_ = g->add_option("--device", common_.device, "cpu, cuda or cuda:N")->default_val("cpu");
  g->add_option("--seed", common_.seed, "Random seed (same seed and threads: same numbers)")->default_val(0);
}

void Tool::without_device_option() {
  if (device_opt_) device_opt_->group("");
  runs_model_ = false;
}

int Tool::run(int argc, char** argv, const std::function<void()>& body) {
  tune_malloc();  // before the first large allocation
  log::set_program(name_);
  set_command_line(argc, argv);
  std::string unknown = unknown_option_message(app_, argc, argv);
  if (!unknown.empty()) {
    log::error("{}", unknown);
    std::cerr << "Run '" << name_ << " --help' for the options.\n";
    return static_cast<int>(ExitCode::bad_input);
  }
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app_.help();
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    std::cout << app_.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what();
    return 0;
  } catch (const CLI::ParseError& e) {
    log::error("{}", e.what());
    std::cerr << "Run '" << name_ << " --help' for the options.\n";
    return static_cast<int>(ExitCode::bad_input);
  }
  common_.seed_given = app_.get_option_group("Common options")->get_option("--seed")->count() > 0;
  if (common_.verbose && common_.quiet) {
    log::error("-v and -q contradict each other");
    return static_cast<int>(ExitCode::bad_input);
  }
  log::set_level(common_.quiet ? log::Level::warning : common_.verbose ? log::Level::debug : log::Level::info);
  // Before anything else is done: this may start the tool again (core/runtime.hpp).
  if (runs_model_) adopt_thread_waiting_policy(common_.threads > 0 ? common_.threads : default_threads(), argv);
  signals::install_handlers();
  try {
    int threads = configure_threads(common_.threads);
    log::debug("threads: {}; idle threads wait by {}", threads, thread_waiting_policy());
    seed_everything(common_.seed);
    if (blas_is_reference())
      log::warn("LibTorch uses the reference BLAS ({}); install libopenblas0-openmp", blas_in_use());
    body();
    return 0;
  } catch (const Error& e) {
    log::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const c10::Error& e) {
    log::error("{}", e.what_without_backtrace());
    return static_cast<int>(ExitCode::runtime);
  } catch (const std::bad_alloc&) {
    log::error("out of memory");
    return static_cast<int>(ExitCode::runtime);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return static_cast<int>(ExitCode::runtime);
  }
}

}  // namespace cmclip
