#include "cmclip/model/fas_model.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/nn/init.h>
#include <ATen/ATen.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/modality.hpp"

namespace cmclip::model {

namespace F = torch::nn::functional;

namespace {
at::Tensor normalise(const at::Tensor& x) { return x / x.norm(2, -1, true); }

PromptSpec prompt_spec(Method m, const ModelOptions& o) {
  PromptSpec s;
  s.n_ctx = o.n_ctx;
  s.init_std = o.ctx_init_std;
  s.init_words = o.ctx_init;
  s.class_specific = o.class_specific_context();
  s.meta_net = m == Method::cm_clip || m == Method::cocoop;
  s.modality = m == Method::cm_clip;
  s.condition_modality = o.condition_modality;
  s.class_words = o.class_words;
  s.modality_words = o.modality_words;
  return s;
}
}  // namespace

FasModelImpl::FasModelImpl(clip::Clip clip, const clip::Tokenizer& tokenizer, ModelOptions options)
    : clip_(std::move(clip)), options_(std::move(options)), method_(options_.parsed_method()) {
  options_.validate();
  if (options_.n_ctx == 0) {  // the word-initialised context is as long as its words
    options_.n_ctx = static_cast<int64_t>(tokenizer.encode(options_.ctx_init).size());
    options_.validate();
  }
  register_module("clip", clip_);
  for (auto& p : clip_->parameters()) p.set_requires_grad(false);
  for (const auto& m : options_.modalities) modality_codes_.push_back(static_cast<int64_t>(parse_modality(m)));

  const int64_t embed = clip_->config().embed_dim;
  switch (method_) {
    case Method::cm_clip:
    case Method::coop:
    case Method::cocoop:
      prompt = register_module("prompt", PromptLearner(clip_, tokenizer, prompt_spec(method_, options_)));
      break;
    case Method::linear_probe:
      head = register_module("head", torch::nn::Linear(embed, 2));
      {
        torch::NoGradGuard g;
        head->weight.zero_();
        head->bias.zero_();
      }
      break;
    case Method::zero_shot: {
      auto rows = tokenizer.tokenize(options_.zero_shot_prompts, static_cast<size_t>(clip_->config().context_length),
                                     /*truncate=*/false);
      zero_shot_tokens_ = rows;
      break;
    }
  }
  adapters = register_module("adapters", torch::nn::ModuleList());
  if (method_ == Method::cm_clip) {
    blocks_ = parse_block_list(options_.adapter_blocks, clip_->config().vision_layers);
    site_attn_ = options_.adapter_sites.find("attn") != std::string::npos;
    site_mlp_ = options_.adapter_sites.find("mlp") != std::string::npos;
    AdcAdapterOptions ao = options_.adapter;
    ao.width = clip_->config().vision_width;
    for (int64_t b : blocks_)
      for (int site : {0, 1}) {
        if ((site == 0 && !site_attn_) || (site == 1 && !site_mlp_)) continue;
        if (options_.adapter_shared && adapters->size() == 1) {
          adapter_index_[{b, site}] = 0;
          continue;
        }
        adapter_index_[{b, site}] = static_cast<int64_t>(adapters->size());
        adapters->push_back(AdcAdapter(ao));
      }
  }
}

AdcAdapter FasModelImpl::adapter_at(int64_t block, int site) {
  auto it = adapter_index_.find({block, site});
  if (it == adapter_index_.end()) return nullptr;
  return adapters->ptr<AdcAdapterImpl>(static_cast<size_t>(it->second));
}

at::Tensor FasModelImpl::encode_images(const at::Tensor& images) {
  auto& visual = clip_->visual;
  if (blocks_.empty()) {
    torch::NoGradGuard frozen;  // nothing in the image branch trains
    return visual->forward(images);
  }
  at::Tensor x;
  const int64_t first = blocks_.front();
  {
    // The frozen prefix before the first adapter needs no autograd.
    torch::NoGradGuard frozen;
    x = visual->embed(images);
    for (int64_t i = 0; i < first; ++i) x = visual->block(i)->forward(x);
  }
  for (int64_t i = first; i < visual->num_blocks(); ++i) {
    auto& blk = visual->block(i);
    // x + attn(h) + adapter(h): the sum of the skip connection and the adapter goes in
    // as the residual of the layer's last product.
    at::Tensor h = blk->ln_1->forward(x);
    at::Tensor skip = x;
    if (auto ad = adapter_at(i, 0)) skip = x + ad->forward(h);
    x = blk->attn->forward(h, {}, skip);
    h = blk->ln_2->forward(x);
    skip = x;
    if (auto ad = adapter_at(i, 1)) skip = x + ad->forward(h);
    x = blk->mlp->forward(h, skip);
  }
  return visual->head(x);
}

at::Tensor FasModelImpl::image_features(const at::Tensor& images) { return normalise(encode_images(images)); }

c10::Device FasModelImpl::device() const { return clip_->logit_scale.device(); }

at::Tensor FasModelImpl::zero_shot_text() {
  // Computed once per device (the model may have moved since).
  if (!zero_shot_features_.defined() || zero_shot_features_.device() != device()) {
    torch::NoGradGuard g;
    zero_shot_features_ = normalise(clip_->encode_text(zero_shot_tokens_.to(device())));
  }
  return zero_shot_features_;
}

ModelOutput FasModelImpl::forward(const at::Tensor& images, const std::vector<int64_t>& perm) {
  ModelOutput out;
  out.image_features = image_features(images);
  at::Tensor scale = clip_->logit_scale.exp();
  const at::Tensor& f = out.image_features;
  switch (method_) {
    case Method::linear_probe:
      out.category = head->forward(f);
      return out;
    case Method::zero_shot:
      out.category = scale * at::matmul(f, zero_shot_text().t());
      return out;
    default:
      break;
  }
  bool full = method_ == Method::cm_clip && is_training();
  PromptFeatures t = prompt->forward(f, /*fine=*/full, /*plain=*/full, perm);
  // [B, E] x [B|1, K, E] -> [B, K]
  out.category = scale * (f.unsqueeze(1) * t.category).sum(-1);
  if (full) {
    out.fine = scale * (f.view({f.size(0), 1, 1, -1}) * t.fine).sum(-1);  // [B, M, K]
    out.modality = scale * (f.unsqueeze(1) * t.modality).sum(-1);         // [B, M]
    out.decorrelation = decorrelation(t);
  }
  return out;
}

at::Tensor FasModelImpl::decorrelation(const PromptFeatures& t) const {
  // The formulas are documented with ModelOptions::decorrelation. Features are unit
  // vectors, except the live-fake difference, which is normalised here.
  const at::Tensor& mod = t.modality_plain;                                                           // [M, E]
  if (options_.decorrelation == "conditioned") return at::matmul(t.category, mod.t()).pow(2).mean();  // [B, K, M]
  if (options_.decorrelation == "fine") {
    at::Tensor direction = normalise(t.fine.select(2, 1) - t.fine.select(2, 0));  // [B, M, E]
    return (direction * mod.unsqueeze(0)).sum(-1).pow(2).mean();                  // [B, M]
  }
  return at::matmul(t.category_plain, mod.t()).pow(2).mean();  // [K, M]
}

at::Tensor FasModelImpl::modality_slots(const at::Tensor& codes) const {
  at::Tensor c = codes.to(at::kCPU, at::kLong).contiguous();
  std::vector<int64_t> slots(static_cast<size_t>(c.numel()));
  const int64_t* p = c.data_ptr<int64_t>();
  for (size_t i = 0; i < slots.size(); ++i) {
    auto it = std::find(modality_codes_.begin(), modality_codes_.end(), p[i]);
    if (it == modality_codes_.end())
      throw UsageError(
          fmt::format("a sample of modality {} reached a model whose prompts know only {} "
                      "(--prompt-modalities)",
                      p[i] >= 0 && p[i] < kModalityCount ? modality_names()[size_t(p[i])] : "?",
                      fmt::join(options_.modalities, ",")));
    slots[i] = it - modality_codes_.begin();
  }
  return at::tensor(slots, at::kLong).to(device());
}

at::Tensor FasModelImpl::score(const at::Tensor& images, const at::Tensor& modality, at::Tensor* features) {
  torch::NoGradGuard g;
  if (options_.score != "fg-ensemble" || method_ != Method::cm_clip) {
    ModelOutput out = forward(images);
    if (features) *features = out.image_features;
    return out.category.softmax(-1).select(1, 1);
  }
  if (!modality.defined()) throw std::invalid_argument("fg-ensemble scoring needs the samples' modalities");
  at::Tensor slots = modality_slots(modality);
  at::Tensor f = image_features(images);
  if (features) *features = f;
  // The category and the fine-grained prompts in one text-encoder call.
  PromptFeatures t = prompt->forward(f, /*fine=*/true, /*plain=*/false);
  at::Tensor scale = clip_->logit_scale.exp();
  at::Tensor category = scale * (f.unsqueeze(1) * t.category).sum(-1);              // [B, K]
  at::Tensor fine = scale * (f.view({images.size(0), 1, 1, -1}) * t.fine).sum(-1);  // [B, M, K]
  // Fine-grained prompts at each sample's own modality.
  at::Tensor own = fine.gather(1, slots.view({-1, 1, 1}).expand({-1, 1, fine.size(2)})).squeeze(1);
  return 0.5 * (category.softmax(-1).select(1, 1) + own.softmax(-1).select(1, 1));
}

LossTerms FasModelImpl::loss(const ModelOutput& out, const at::Tensor& labels, const at::Tensor& modality_codes) {
  LossTerms l;
  auto add = [&](const char* name, const at::Tensor& term, double weight) {
    l.terms[name] = term.item<double>();
    l.weighted[name] = weight * term;
    l.total = l.total.defined() ? l.total + l.weighted[name] : l.weighted[name];
  };
  add("cat", F::cross_entropy(out.category, labels), options_.w_cat);
  if (out.fine.defined()) {
    at::Tensor fg = at::zeros({}, out.category.options());
    const int64_t m = out.fine.size(1);
    for (int64_t i = 0; i < m; ++i) fg = fg + F::cross_entropy(out.fine.select(1, i), labels);
    add("fg", fg / double(m), options_.w_fg);
    at::Tensor slots = modality_slots(modality_codes);
    if (slots.ne(slots[0]).any().item<bool>()) add("mod", F::cross_entropy(out.modality, slots), options_.w_mod);
    add("dec", out.decorrelation, options_.lambda_dec);
  }
  l.terms["total"] = l.total.item<double>();
  return l;
}

NamedTensors FasModelImpl::trainable() {
  NamedTensors out;
  for (const auto& p : named_parameters(/*recurse=*/true)) {
    if (p.key().rfind("clip.", 0) == 0) continue;
    out.emplace_back(p.key(), p.value());
  }
  return out;
}

}  // namespace cmclip::model
