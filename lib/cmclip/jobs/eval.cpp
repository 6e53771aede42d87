#include "cmclip/jobs/eval.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/names.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/metrics/plot.hpp"

namespace cmclip::jobs {

namespace {
const Choices kReportFormats{"table", "json", "tsv"};
const Choices kPlotTypes{"auto", "roc", "det"};
}  // namespace

void EvalJobOptions::register_on(CLI::App& app) {
  evaluation.register_on(app);
  app.add_option("--format", format, "Report format: table (for reading), json (one object), tsv (one figure a line)")
      ->check(one_of(kReportFormats.names()))
      ->capture_default_str();
  app.add_option("-o,--output", output, "Report file (written atomically); '-' is stdout")->capture_default_str();
  app.add_option("--plot", plots,
                 "Draw a ROC or DET curve of every test set into this PNG (repeatable); "
                 "the kind comes from --plot-type or the name ('det' in it: DET)")
      ->type_name("FILE.png");
  app.add_option("--plot-type", plot_type, "auto (from the file name), roc or det")
      ->check(one_of(kPlotTypes.names()))
      ->capture_default_str();
}

namespace {
// Writes `bytes` into the temporary file of `out` (committed by the caller).
void write_temp(const AtomicOutput& out, const std::string& bytes) {
  std::ofstream f(out.temp_path(), std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw RuntimeFailure(out.path(), "", std::string("cannot write (disk full?): ") + std::strerror(errno));
}
}  // namespace

void EvalJobOptions::validate() const {
  kReportFormats.check(format, "--format");
  kPlotTypes.check(plot_type, "--plot-type");
  for (const auto& p : plots) metrics::plot_kind_for(p, plot_type);
  evaluation.validate();
}

void run_eval(const EvalJobOptions& options, const CommonOptions& common) {
  // Check every output before the work, so a bad path fails at once with nothing written.
  if (options.output != "-") check_output_path(options.output);
  std::vector<metrics::PlotKind> kinds;
  for (const auto& p : options.plots) {
    check_output_path(p);
    kinds.push_back(metrics::plot_kind_for(p, options.plot_type));
  }
  options.validate();  // usage errors before reading anything

  int threads = common.threads > 0 ? common.threads : default_threads();
  metrics::Evaluation e = metrics::evaluate(options.evaluation, common.seed, threads);

  std::string report = options.format == "json"  ? metrics::render_json(e)
                       : options.format == "tsv" ? metrics::render_tsv(e)
                                                 : metrics::render_table(e);
  std::vector<std::string> pngs;
  for (metrics::PlotKind kind : kinds) pngs.push_back(metrics::render_plot(e, kind));
  // Every file is written in full before any is renamed into place: a full disk
  // leaves none of them (and the previous ones intact), not a report without its plots.
  std::vector<std::unique_ptr<AtomicOutput>> files;
  if (options.output != "-") {
    files.push_back(std::make_unique<AtomicOutput>(options.output));
    write_temp(*files.back(), report);
  }
  for (size_t k = 0; k < pngs.size(); ++k) {
    files.push_back(std::make_unique<AtomicOutput>(options.plots[k]));
    write_temp(*files.back(), pngs[k]);
  }
  if (options.output == "-") {
    std::cout << report << std::flush;
    if (!std::cout) throw RuntimeFailure("stdout", "", "cannot write the report (disk full? closed pipe?)");
  }
  for (auto& f : files) f->commit();
  if (options.output != "-") log::info("wrote {}", options.output);
  for (size_t k = 0; k < pngs.size(); ++k)
    log::info("wrote {} ({})", options.plots[k], kinds[k] == metrics::PlotKind::det ? "DET" : "ROC");
}

}  // namespace cmclip::jobs
