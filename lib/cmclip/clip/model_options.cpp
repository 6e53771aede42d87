#include "cmclip/clip/model_options.hpp"

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"

namespace cmclip::clip {

void ClipModelOptions::register_on(CLI::App& app, const ModelFlag& flag) {
  auto* g = app.add_option_group("CLIP model");
  auto* m = g->add_option(flag.name, model, flag.help);
  if (flag.required) m->required();
  g->add_option("--bpe", bpe,
                "BPE vocabulary bpe_simple_vocab_16e6.txt.gz (default: $CMCLIP_BPE, else "
                "${CMCLIP_HOME:-$HOME/.cache/cmclip}/bpe_simple_vocab_16e6.txt.gz)");
  g->add_option("--vision-heads", heads.vision_heads,
                "Attention heads of the image tower (default: the checkpoint's, else width/64)")
      ->check(CLI::PositiveNumber);
  g->add_option("--text-heads", heads.text_heads,
                "Attention heads of the text tower (default: the checkpoint's, else width/64)")
      ->check(CLI::PositiveNumber);
}

void ClipModelOptions::validate() const {
  for (auto [flag, count] : {std::pair{"--vision-heads", heads.vision_heads}, {"--text-heads", heads.text_heads}})
    if (count && *count < 1) throw UsageError(fmt::format("{} {}: expected a positive number", flag, *count));
}

}  // namespace cmclip::clip
