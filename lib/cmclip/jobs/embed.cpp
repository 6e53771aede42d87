#include "cmclip/jobs/embed.hpp"

#include <CLI/CLI.hpp>

#include "cmclip/metrics/score_merge.hpp"

namespace cmclip::jobs {

void EmbedJobOptions::register_on(CLI::App& app) {
  auto* inputs = app.add_option_group("Input (exactly one)");
  inputs->add_option("--data", scoring.data, "Sample store to score with a trained checkpoint");
  inputs->add_option("--merge", merge, "Shard score files to join")->expected(1, -1);
  inputs->add_option("--images", images, "List of image files, one path per line");
  inputs->add_option("--text-file", text_file, "Prompts, one per line (UTF-8)");
  inputs->require_option(1);
  app.add_option("-o,--output", output, "Output HDF5 file (written atomically)")->required();
  model.register_on(app, {"--model",
                          "CLIP weights: an OpenAI TorchScript archive (ViT-B-16.pt), a cmclip checkpoint (.h5), "
                          "builtin:tiny, or builtin:vit-b-16-random (random weights of the real shapes, for "
                          "benchmarks)",
                          false});
  embed.register_on(app);
  scoring.register_on(app);
}

void EmbedJobOptions::validate() const {
  model.validate();
  embed.validate();
  if (!scoring.data.empty()) scoring.validate(output);
}

void run_embed(const EmbedJobOptions& o, const CommonOptions& common) {
  o.validate();
  if (!o.merge.empty()) {
    metrics::merge_score_files(o.merge, o.output);
  } else if (!o.scoring.data.empty()) {
    model::score_sample_store(o.model, o.embed, o.scoring, common.device, o.output);
  } else if (!o.images.empty()) {
    clip::embed_image_list(o.model, o.images, o.output, o.embed, common.device);
  } else {
    clip::embed_text_file(o.model, o.text_file, o.output, o.embed, common.device);
  }
}

}  // namespace cmclip::jobs
