#include "cmclip/model/prompt_learner.hpp"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <ATen/ATen.h>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/model/prompt_ids.hpp"

namespace cmclip::model {

namespace {
at::Tensor normalise(const at::Tensor& x) { return x / x.norm(2, -1, true); }
}  // namespace

PromptLearnerImpl::PromptLearnerImpl(clip::Clip clip, const clip::Tokenizer& tok, PromptSpec spec)
    : clip_(std::move(clip)), spec_(std::move(spec)) {
  const int64_t width = clip_->config().text_width, embed = clip_->config().embed_dim;
  const int64_t k = classes(), m = modalities();
  // Every prompt is padded to one length so that all families share one batch.
  int64_t longest = 0;
  auto words_length = [&](const std::string& w) { return static_cast<int64_t>(tok.encode(w + ".").size()); };
  for (const auto& c : spec_.class_words) {
    longest = std::max(longest, spec_.n_ctx + words_length(c));
    for (const auto& mw : spec_.modality_words)
      longest = std::max(longest, 2 * spec_.n_ctx + words_length(c + " " + mw));
  }
  for (const auto& mw : spec_.modality_words) longest = std::max(longest, spec_.n_ctx + words_length(mw));
  length_ = longest + 2;  // SOS, EOS
  if (length_ > clip_->config().context_length)
    throw UsageError(fmt::format("prompts of {} tokens exceed the model's context of {}: use a smaller --n-ctx",
                                 length_, clip_->config().context_length));

  category_ = make_family(spec_.class_words, 1, tok, "category");
  torch::Tensor ctx = torch::empty({spec_.class_specific ? k : 1, spec_.n_ctx, width});
  if (spec_.init_words.empty()) {
    torch::nn::init::normal_(ctx, 0, spec_.init_std);
  } else {
    // CoOp's word initialisation: every class's context starts as the words' embeddings.
    std::vector<int64_t> ids = tok.encode(spec_.init_words);
    if (static_cast<int64_t>(ids.size()) != spec_.n_ctx)
      throw UsageError(fmt::format("--ctx-init \"{}\" is {} tokens, but --n-ctx is {}; give --n-ctx {}",
                                   spec_.init_words, ids.size(), spec_.n_ctx, ids.size()));
    torch::NoGradGuard no_grad;
    ctx.copy_(clip_->token_embedding->forward(at::tensor(ids, at::kLong)).unsqueeze(0).expand_as(ctx));
  }
  content_ctx = register_parameter("content_ctx", ctx);
  if (spec_.modality) {
    modality_ = make_family(spec_.modality_words, 1, tok, "modality");
    fine_ = make_family(fine_prompt_words(spec_.class_words, spec_.modality_words), 2, tok, "fine");
    torch::Tensor mctx = torch::empty({m, spec_.n_ctx, width});
    torch::nn::init::normal_(mctx, 0, spec_.init_std);
    modality_ctx = register_parameter("modality_ctx", mctx);
  }
  if (spec_.meta_net) {
    int64_t hidden = std::max<int64_t>(1, embed / 16);
    meta_net = register_module("meta_net", torch::nn::Sequential(torch::nn::Linear(embed, hidden), torch::nn::ReLU(),
                                                                 torch::nn::Linear(hidden, width)));
  }
}

std::vector<int64_t> prompt_token_ids(const clip::Tokenizer& tok, const std::string& words, int64_t n_ctx) {
  std::vector<int64_t> row{tok.sot()};
  row.insert(row.end(), static_cast<size_t>(n_ctx), 0);
  auto text = tok.encode(words + ".");
  row.insert(row.end(), text.begin(), text.end());
  row.push_back(tok.eot());
  return row;
}

std::vector<std::string> fine_prompt_words(const std::vector<std::string>& class_words,
                                           const std::vector<std::string>& modality_words) {
  std::vector<std::string> words;
  for (const auto& c : class_words)
    for (const auto& m : modality_words) words.push_back(c + " " + m);
  return words;
}

PromptFamilyIds prompt_family_ids(const clip::Tokenizer& tok, const std::vector<std::string>& class_words,
                                  const std::vector<std::string>& modality_words, int64_t n_ctx) {
  auto family = [&](const std::vector<std::string>& words, int64_t contexts) {
    std::vector<std::vector<int64_t>> rows;
    for (const auto& w : words) rows.push_back(prompt_token_ids(tok, w, contexts * n_ctx));
    return rows;
  };
  return {family(class_words, 1), family(modality_words, 1), family(fine_prompt_words(class_words, modality_words), 2)};
}

PromptLearnerImpl::Family PromptLearnerImpl::make_family(const std::vector<std::string>& words, int64_t contexts,
                                                         const clip::Tokenizer& tok, const std::string& name) {
  std::vector<int64_t> ids;
  std::vector<int64_t> eot;
  const int64_t n_ctx = contexts * spec_.n_ctx;
  for (const auto& w : words) {
    std::vector<int64_t> row = prompt_token_ids(tok, w, n_ctx);
    eot.push_back(static_cast<int64_t>(row.size()) - 1);
    row.resize(static_cast<size_t>(length_), 0);
    ids.insert(ids.end(), row.begin(), row.end());
  }
  Family f;
  torch::NoGradGuard no_grad;
  at::Tensor id_tensor = at::tensor(ids, at::kLong).view({static_cast<int64_t>(words.size()), length_});
  f.embeddings = register_buffer(name + "_embeddings", clip_->token_embedding->forward(id_tensor).detach());
  f.eot = register_buffer(name + "_eot", at::tensor(eot, at::kLong));
  return f;
}

at::Tensor PromptLearnerImpl::splice(const at::Tensor& base, const at::Tensor& ctx, int64_t n_ctx_total) {
  // base [P, L, W]; ctx [..., P, n, W] -> [..., P, L, W]
  std::vector<int64_t> shape(ctx.sizes().begin(), ctx.sizes().end());
  shape[shape.size() - 2] = 1;
  at::Tensor prefix = base.slice(1, 0, 1).expand(shape);
  shape[shape.size() - 2] = base.size(1) - 1 - n_ctx_total;
  at::Tensor suffix = base.slice(1, 1 + n_ctx_total).expand(shape);
  return at::cat({prefix, ctx, suffix}, -2);
}

at::Tensor PromptLearnerImpl::pi(const at::Tensor& image_features) { return meta_net->forward(image_features); }

PromptFeatures PromptLearnerImpl::forward(const at::Tensor& image_features, bool fine, bool plain,
                                          const std::vector<int64_t>& perm) {
  const int64_t b = image_features.size(0), k = classes(), m = modalities(), n = spec_.n_ctx;
  const int64_t w = content_ctx.size(2);
  at::Tensor content = content_ctx.expand({k, n, w});  // shared context: the same for every class
  bool conditional = spec_.meta_net;
  at::Tensor shift = conditional ? pi(image_features).view({b, 1, 1, w}) : at::Tensor();

  std::vector<at::Tensor> seqs, eots;
  std::vector<int64_t> counts;
  auto add = [&](const at::Tensor& x, const at::Tensor& eot) {  // x [..., L, W]
    int64_t rows = x.numel() / (x.size(-1) * x.size(-2));
    seqs.push_back(x.reshape({rows, x.size(-2), x.size(-1)}));
    eots.push_back(eot.expand({rows / eot.size(0), eot.size(0)}).reshape({rows}));
    counts.push_back(rows);
  };
  // Category prompts: per image when conditional, else once.
  at::Tensor cat_ctx = conditional ? content.unsqueeze(0) + shift : content.unsqueeze(0);  // [B|1, K, n, W]
  add(splice(category_.embeddings, cat_ctx, n), category_.eot);
  bool want_mod = spec_.modality && (fine || plain);
  if (want_mod) {
    at::Tensor mctx = modality_ctx.unsqueeze(0);
    if (spec_.condition_modality && conditional) mctx = mctx + shift;
    add(splice(modality_.embeddings, mctx, n), modality_.eot);
  }
  if (fine && spec_.modality) {
    at::Tensor mod_ctx = modality_ctx;
    if (!perm.empty()) mod_ctx = modality_ctx.index_select(0, at::tensor(perm, at::kLong).to(modality_ctx.device()));
    // [B|1, K, M, 2n, W]: content(k) (+π) then modality(σ(m)).
    at::Tensor c = cat_ctx.unsqueeze(2).expand({cat_ctx.size(0), k, m, n, w});
    at::Tensor mc = mod_ctx.view({1, 1, m, n, w});
    if (spec_.condition_modality && conditional) mc = mc + shift.unsqueeze(1);
    mc = mc.expand({cat_ctx.size(0), k, m, n, w});
    at::Tensor ctx = at::cat({c, mc}, 3).reshape({cat_ctx.size(0), k * m, 2 * n, w});
    add(splice(fine_.embeddings, ctx, 2 * n), fine_.eot);
  }
  if (plain) {
    add(splice(category_.embeddings, content.unsqueeze(0), n), category_.eot);
    if (spec_.modality && spec_.condition_modality && conditional)
      add(splice(modality_.embeddings, modality_ctx.unsqueeze(0), n), modality_.eot);
  }
  at::Tensor features = normalise(clip_->encode_embeddings(at::cat(seqs, 0), at::cat(eots, 0)));
  std::vector<at::Tensor> parts = features.split_with_sizes(counts, 0);
  const int64_t e = features.size(1);
  PromptFeatures out;
  size_t i = 0;
  out.category = parts[i++].view({-1, k, e});
  at::Tensor mod_features;
  if (want_mod) {
    mod_features = parts[i++].view({-1, m, e});
    out.modality = mod_features;
  }
  if (fine && spec_.modality) out.fine = parts[i++].view({-1, k, m, e}).transpose(1, 2);  // [B|1, M, K, E]
  if (plain) {
    out.category_plain = parts[i++].view({k, e});
    if (spec_.modality) {
      out.modality_plain =
          (spec_.condition_modality && conditional) ? parts[i++].view({m, e}) : mod_features.view({m, e});
    }
  }
  return out;
}

at::Tensor PromptLearnerImpl::fine_at(const at::Tensor& image_features, int64_t slot) {
  PromptFeatures f = forward(image_features, /*fine=*/true, /*plain=*/false);
  return f.fine.select(1, slot);
}

}  // namespace cmclip::model
