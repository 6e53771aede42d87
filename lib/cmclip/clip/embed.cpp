#include "cmclip/clip/embed.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <exception>
#include <vector>

#include <fmt/format.h>

#include "cmclip/clip/preprocess.hpp"
#include "cmclip/clip/text_clean.hpp"
#include "cmclip/clip/text_file.hpp"
#include "cmclip/clip/tokenizer.hpp"
#include "cmclip/clip/weights.hpp"
#include "cmclip/compute/precision.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/progress.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/h5/scores.hpp"

namespace cmclip::clip {

void EmbedOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Embedding");
  g->add_option("--batch-size", batch_size, "Images or prompts per forward pass")
      ->default_val(32)
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  g->add_flag("--truncate", truncate,
              "Cut prompts longer than the context (77 tokens) as clip.tokenize(truncate=True) does, "
              "instead of failing");
  precision.register_on(*g);
}

void EmbedOptions::validate() const {
  if (batch_size < 1) throw UsageError("--batch-size: expected at least 1");
  precision.validate();
}

namespace {

struct LoadedModel {
  Clip clip{nullptr};
  c10::Device device{c10::kCPU};
};

LoadedModel load_model(const ClipModelOptions& o, const std::string& device, const std::string& mode) {
  if (o.model.empty()) throw UsageError(fmt::format("{} needs --model", mode));
  ClipLoadOptions lo;
  lo.heads = o.heads;
  LoadedModel m;
  m.device = parse_device(device);
  m.clip = load_clip(o.model, lo);
  m.clip->to(m.device);
  log::info("model {}: {}", o.model, m.clip->config().describe());
  return m;
}

// The attributes of every embedding output: the model, where its weights came from and
// their hash, embed_dim and the precision. `Writer` is ScoreWriter or TextFeatureWriter.
template <class Writer>
void set_embedding_attrs(Writer& writer, const LoadedModel& m, const ClipModelOptions& o, const EmbedOptions& e) {
  writer.set_attr("model", o.model);
  writer.set_attr("clip_source", m.clip->provenance().source);
  writer.set_attr("clip_weights_sha256", clip_weights_hash(m.clip));
  writer.set_attr("embed_dim", m.clip->config().embed_dim);
  writer.set_attr("precision", std::string(compute::precision_name(e.precision.parsed())));
}

// Calls `batch(start, count)` over [0, total) in batches of --batch-size, without
// autograd, at --precision, with a progress line ("embedding images").
template <class Batch>
void in_batches(const EmbedOptions& options, c10::Device device, const std::string& what, int64_t total, Batch batch) {
  torch::NoGradGuard no_grad;
  compute::PrecisionScope precision(options.precision.parsed(), device);
  Progress progress("embedding " + what, total, what);
  for (int64_t start = 0; start < total; start += options.batch_size) {
    const int64_t count = std::min(options.batch_size, total - start);
    batch(start, count);
    progress.advance(count);
  }
  progress.finish();
}

}  // namespace

void embed_image_list(const ClipModelOptions& model, const std::string& list_path, const std::string& output,
                      const EmbedOptions& options, const std::string& device) {
  options.validate();
  check_output_path(output);
  std::vector<ImageListEntry> entries = read_image_list(list_path);
  LoadedModel m = load_model(model, device, "--images");
  const int64_t n_px = m.clip->config().image_resolution, dim = m.clip->config().embed_dim;
  ScoreWriter writer(output, dim, /*with_score=*/false);
  set_embedding_attrs(writer, m, model, options);
  writer.set_attr("image_list", list_path);
  writer.set_attr("image_resolution", n_px);

  const int64_t total = static_cast<int64_t>(entries.size());
  in_batches(options, m.device, "images", total, [&](int64_t start, int64_t count) {
    at::Tensor batch = at::empty({count, 3, n_px, n_px}, at::kFloat);
    // Decoding and resampling in parallel; the failure of the earliest line is reported,
    // whatever the threads.
    std::vector<std::exception_ptr> failures(static_cast<size_t>(count));
    at::parallel_for(0, count, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const ImageListEntry& e = entries[static_cast<size_t>(start + i)];
        try {
          batch[i].copy_(preprocess(read_image(e.path), n_px));
        } catch (const InputError& err) {
          failures[static_cast<size_t>(i)] = std::make_exception_ptr(
              InputError(list_path, fmt::format("line {}", e.line), fmt::format("'{}': {}", e.text, err.detail())));
        } catch (...) {
          failures[static_cast<size_t>(i)] = std::current_exception();
        }
      }
    });
    for (const std::exception_ptr& failure : failures)
      if (failure) std::rethrow_exception(failure);
    at::Tensor features = m.clip->encode_image(batch.to(m.device)).to(at::kCPU, at::kFloat).contiguous();
    for (int64_t i = 0; i < count; ++i) {
      const ImageListEntry& e = entries[static_cast<size_t>(start + i)];
      ScoreRow row;
      row.index = e.line;
      row.score = std::nanf("");
      row.video = e.text;
      row.source = e.text;
      writer.append(row, features[i].data_ptr<float>());
    }
  });
  writer.commit();
  log::info("done: {} of {} images embedded into {}", writer.size(), total, output);
}

void embed_text_file(const ClipModelOptions& model, const std::string& prompt_path, const std::string& output,
                     const EmbedOptions& options, const std::string& device) {
  options.validate();
  check_output_path(output);
  std::vector<Prompt> prompts = read_prompt_file(prompt_path);
  LoadedModel m = load_model(model, device, "--text-file");
  const ClipConfig& c = m.clip->config();
  Tokenizer tokenizer = tokenizer_for(m.clip->provenance().vocabulary, c.vocab_size, model.bpe, model.model);
  const size_t context = static_cast<size_t>(c.context_length);

  // Tokenize everything first: a prompt that is too long fails before any compute.
  std::vector<TokenRow> rows;
  int64_t truncated = 0;
  for (const auto& p : prompts) {
    rows.push_back(tokenizer.tokenize(p.text, context));
    if (rows.back().too_long(context)) {
      if (!options.truncate)
        throw InputError(prompt_path, fmt::format("line {}", p.line),
                         fmt::format("the prompt is {} tokens with start and end, longer than the context length {} "
                                     "(--truncate cuts it)",
                                     rows.back().full_length, context));
      ++truncated;
    }
  }
  if (truncated) log::warn("{}: {} prompt(s) cut to {} tokens (--truncate)", prompt_path, truncated, context);

  TextFeatureWriter writer(output, c.context_length, c.embed_dim);
  set_embedding_attrs(writer, m, model, options);
  writer.set_attr("prompt_file", prompt_path);
  writer.set_attr("vocabulary", tokenizer.source());
  writer.set_attr("truncated", truncated);

  const int64_t total = static_cast<int64_t>(prompts.size());
  in_batches(options, m.device, "prompts", total, [&](int64_t start, int64_t count) {
    at::Tensor ids = at::empty({count, c.context_length}, at::kLong);
    for (int64_t i = 0; i < count; ++i)
      std::copy(rows[static_cast<size_t>(start + i)].ids.begin(), rows[static_cast<size_t>(start + i)].ids.end(),
                ids[i].data_ptr<int64_t>());
    at::Tensor features = m.clip->encode_text(ids.to(m.device)).to(at::kCPU, at::kFloat).contiguous();
    for (int64_t i = 0; i < count; ++i) {
      const Prompt& p = prompts[static_cast<size_t>(start + i)];
      writer.append(p.text, p.line, ids[i].data_ptr<int64_t>(), features[i].data_ptr<float>());
    }
  });
  writer.commit();
  log::info("done: {} of {} prompts embedded into {}", writer.size(), total, output);
}

}  // namespace cmclip::clip
