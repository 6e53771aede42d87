#include "cmclip/data/sampler.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/random.hpp"

namespace cmclip::data {

Pool full_pool(const SampleStore& store, std::optional<Modality> m) {
  Pool p;
  p.records = store.records();
  for (int64_t i = 0; i < store.size(); ++i) {
    if (m && store.modalities()[i] != static_cast<int8_t>(*m)) continue;
    int c = store.labels()[i] == kLive ? 1 : 0;
    p.groups[c].push_back({i});
    p.group_keys[c].push_back(std::to_string(i));
  }
  return p;
}

Pool kshot_pool(const SampleStore& store, Modality m, int k, uint64_t seed) {
  if (k <= 0) throw UsageError(fmt::format("--shots {} must be positive", k));
  std::vector<std::string> videos = store.videos(0, store.size());
  std::vector<std::string> sources;
  bool by_video = std::any_of(videos.begin(), videos.end(), [](const std::string& v) { return !v.empty(); });
  if (!by_video) sources = store.sources(0, store.size());
  // Candidate groups per class, in a stable order (sorted keys).
  std::map<std::string, std::vector<int64_t>> groups[2];
  for (int64_t i = 0; i < store.size(); ++i) {
    if (store.modalities()[i] != static_cast<int8_t>(m)) continue;
    int c = store.labels()[i] == kLive ? 1 : 0;
    std::string key = by_video ? videos[i] : fmt::format("{}#{}", sources[i], i);
    groups[c][key].push_back(i);
  }
  Pool p;
  p.records = store.records();
  Rng rng(derive_seed(seed, {0x6b73686f74ULL /* "kshot" */}));
  for (int c : {1, 0}) {
    std::vector<std::string> keys;
    for (const auto& kv : groups[c]) keys.push_back(kv.first);
    if (static_cast<int>(keys.size()) < k)
      throw InputError(store.path(), "",
                       fmt::format("{}-shot needs {} {} {} of modality {}, the store has {}", k, k,
                                   c ? "live" : "attack", by_video ? "videos" : "frames", modality_name(m),
                                   keys.size()));
    rng.shuffle(keys);
    keys.resize(static_cast<size_t>(k));
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      p.groups[c].push_back(groups[c][key]);
      p.group_keys[c].push_back(key);
    }
  }
  return p;
}

namespace {
// One epoch's sample list for one class: one frame per group, shuffled, repeated
// (and topped up at random) to `want` entries.
std::vector<SampleRef> class_list(const Pool& pool, int cls, int store, int64_t want, uint64_t seed,
                                  int64_t epoch) {
  std::vector<SampleRef> base;
  const auto& groups = pool.groups[cls];
  for (size_t g = 0; g < groups.size(); ++g) {
    Rng pick(derive_seed(seed, {uint64_t(store), uint64_t(cls), uint64_t(epoch), g}));
    int64_t idx = groups[g][static_cast<size_t>(pick.below(groups[g].size()))];
    bool by_record = !pool.records.empty() && pool.records[static_cast<size_t>(idx)] >= 0;
    uint64_t key = by_record ? uint64_t(pool.records[static_cast<size_t>(idx)]) : uint64_t(idx) | (1ULL << 63);
    base.push_back({store, idx, derive_seed(seed, {0x617567ULL, uint64_t(store), key, uint64_t(epoch)})});
  }
  Rng rng(derive_seed(seed, {0x6f72646572ULL, uint64_t(store), uint64_t(cls), uint64_t(epoch)}));
  std::vector<SampleRef> out;
  while (static_cast<int64_t>(out.size()) < want) {
    std::vector<SampleRef> round = base;
    rng.shuffle(round);
    for (const auto& r : round) {
      if (static_cast<int64_t>(out.size()) == want) break;
      out.push_back(r);
    }
  }
  return out;
}

// Alternating attack/live pairs, pair order shuffled.
std::vector<SampleRef> balanced_order(const Pool& pool, int store, int64_t pairs, uint64_t seed, int64_t epoch) {
  auto attack = class_list(pool, 0, store, pairs, seed, epoch);
  auto live = class_list(pool, 1, store, pairs, seed, epoch);
  std::vector<int64_t> order(static_cast<size_t>(pairs));
  for (int64_t i = 0; i < pairs; ++i) order[static_cast<size_t>(i)] = i;
  Rng rng(derive_seed(seed, {0x7061697273ULL, uint64_t(store), uint64_t(epoch)}));
  rng.shuffle(order);
  std::vector<SampleRef> out;
  for (int64_t i : order) {
    out.push_back(attack[static_cast<size_t>(i)]);
    out.push_back(live[static_cast<size_t>(i)]);
  }
  return out;
}
}  // namespace

std::vector<std::vector<SampleRef>> plan_epoch(const Pool& target, const Pool* replay, int64_t epoch,
                                               const PlanOptions& o) {
  if (o.global_batch < 2 || o.global_batch % 2)
    throw UsageError(fmt::format("batch size x ranks = {} must be even (batches are half live, half attack)", o.global_batch));
  for (int c : {0, 1})
    if (target.count(c) == 0)
      throw UsageError(fmt::format("the training set has no {} samples", c ? "live" : "attack"));
  int64_t replay_per_batch = replay ? 2 * static_cast<int64_t>(std::lround(o.replay_ratio * o.global_batch / 2)) : 0;
  if (replay && (replay->count(0) == 0 || replay->count(1) == 0))
    throw UsageError("the replay set needs both live and attack samples");
  int64_t target_per_batch = o.global_batch - replay_per_batch;
  if (target_per_batch < 2) throw UsageError("--replay-ratio leaves no room for target samples in a batch");
  int64_t target_pairs = static_cast<int64_t>(std::max(target.count(0), target.count(1)));
  int64_t steps = (2 * target_pairs + target_per_batch - 1) / target_per_batch;
  auto t_order = balanced_order(target, 0, steps * target_per_batch / 2, o.seed, epoch);
  std::vector<SampleRef> r_order;
  if (replay_per_batch) r_order = balanced_order(*replay, 1, steps * replay_per_batch / 2, o.seed, epoch);
  std::vector<std::vector<SampleRef>> batches(static_cast<size_t>(steps));
  for (int64_t s = 0; s < steps; ++s) {
    auto& b = batches[static_cast<size_t>(s)];
    b.insert(b.end(), t_order.begin() + s * target_per_batch, t_order.begin() + (s + 1) * target_per_batch);
    b.insert(b.end(), r_order.begin() + s * replay_per_batch, r_order.begin() + (s + 1) * replay_per_batch);
    // Interleave target and replay so rank slices keep the mix.
    Rng mixer(derive_seed(o.seed, {0x6d6978ULL, uint64_t(epoch), uint64_t(s)}));
    mixer.shuffle(b);
  }
  return batches;
}

std::vector<SampleRef> rank_slice(const std::vector<SampleRef>& global_batch, int rank, int world) {
  if (world <= 0 || global_batch.size() % static_cast<size_t>(world))
    throw std::invalid_argument(fmt::format("a batch of {} does not split over {} ranks", global_batch.size(), world));
  size_t per = global_batch.size() / static_cast<size_t>(world);
  return std::vector<SampleRef>(global_batch.begin() + rank * per, global_batch.begin() + (rank + 1) * per);
}

}  // namespace cmclip::data
