#include "cmclip/train/presets.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/log.hpp"

namespace cmclip::train {

namespace {
// CoOp's and CoCoOp's optimisation (their Dassl configurations): SGD, lr 0.002,
// momentum 0.9, weight decay 5e-4, one warm-up epoch at a constant 1e-5, then cosine
// to 0; no gradient clipping.
void papers_sgd(MethodPreset& p) {
  p.optimizer = "sgd";
  p.lr = 0.002;
  p.min_lr = 0.0;
  p.momentum = 0.9;
  p.weight_decay = 5e-4;
  p.clip_grad_norm = 0.0;
  p.warmup_type = "constant";
  p.warmup_lr = 1e-5;
  p.warmup_steps = -1;  // one epoch
}
}  // namespace

MethodPreset method_preset(model::Method method, bool fewshot, int64_t shots, int64_t shot_frames) {
  MethodPreset p;
  switch (method) {
    case model::Method::coop:
      p.source = "CoOp, Zhou et al., IJCV 2022";
      p.n_ctx = 16;             // random N(0, 0.02^2), cmclip's default
      p.ctx_layout = "shared";  // the unified context of the main results
      papers_sgd(p);
      // 50 epochs for 1-2 shots, 100 for 4-8, 200 for 16 (50 on ImageNet, the setting
      // used for the full source set), batch 32 (at most the few-shot set).
      p.epochs = !fewshot ? 50 : shots <= 2 ? 50 : shots <= 8 ? 100 : 200;
      p.batch_size = fewshot ? std::min<int64_t>(32, std::max<int64_t>(1, shot_frames)) : 32;
      break;
    case model::Method::cocoop:
      p.source = "CoCoOp, Zhou et al., CVPR 2022";
      p.ctx_init = "a photo of a";  // its 4 tokens are the context (--n-ctx follows --ctx-init)
      p.ctx_layout = "shared";
      papers_sgd(p);
      p.epochs = 10;
      p.batch_size = 1;
      break;
    case model::Method::linear_probe:
      p.source = "linear probe, Radford et al., ICML 2021";
      break;
    default:
      return p;
  }
  if (fewshot) p.replay_ratio = 0.0;  // the papers train on the few-shot set alone
  return p;
}

void apply_preset(const MethodPreset& preset, const std::function<bool(const std::string&)>& given,
                  const PresetTargets& t) {
  if (preset.source.empty()) return;
  std::vector<std::string> set, kept;
  auto apply = [&](const char* flag, auto* field, const auto& value) {
    if (!field || !value) return;
    if (given(flag)) {
      kept.push_back(flag);
      return;
    }
    *field = *value;
    std::string shown = fmt::format("{}", *value);
    set.push_back(fmt::format(shown.find(' ') == std::string::npos ? "{} {}" : "{} \"{}\"", flag, shown));
  };
  auto* m = t.model;
  apply("--n-ctx", m ? &m->n_ctx : nullptr, preset.n_ctx);
  apply("--ctx-init", m ? &m->ctx_init : nullptr, preset.ctx_init);
  apply("--ctx-layout", m ? &m->ctx_layout : nullptr, preset.ctx_layout);
  // Word-initialised context: unless --n-ctx is given, as many vectors as the words
  // have tokens (4 for "a photo of a" with CLIP's vocabulary).
  if (m && !m->ctx_init.empty() && !given("--n-ctx")) m->n_ctx = 0;
  auto* o = t.optimizer;
  apply("--optimizer", o ? &o->name : nullptr, preset.optimizer);
  apply("--lr", o ? &o->lr : nullptr, preset.lr);
  apply("--min-lr", o ? &o->min_lr : nullptr, preset.min_lr);
  apply("--momentum", o ? &o->momentum : nullptr, preset.momentum);
  apply("--weight-decay", o ? &o->weight_decay : nullptr, preset.weight_decay);
  apply("--clip-grad-norm", o ? &o->clip_grad_norm : nullptr, preset.clip_grad_norm);
  apply("--warmup-type", o ? &o->warmup_type : nullptr, preset.warmup_type);
  apply("--warmup-lr", o ? &o->warmup_lr : nullptr, preset.warmup_lr);
  apply("--warmup-steps", o ? &o->warmup_steps : nullptr, preset.warmup_steps);
  apply("--epochs", t.training ? &t.training->epochs : nullptr, preset.epochs);
  apply("--batch-size", t.training ? &t.training->batch_size : nullptr, preset.batch_size);
  apply("--replay-ratio", t.replay_ratio, preset.replay_ratio);
  if (set.empty() && kept.empty()) return;
  log::info("preset of {}: {}{}", preset.source,
            set.empty() ? "nothing left to set" : fmt::format("{}", fmt::join(set, " ")),
            kept.empty() ? "" : fmt::format("; from the command line: {}", fmt::join(kept, " ")));
}

}  // namespace cmclip::train
