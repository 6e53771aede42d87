#include "cmclip/data/sampler.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
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

namespace {
// FNV-1a: a portable hash of a video key, so its frame draw does not depend on which
// other videos were drawn (or on the standard library).
uint64_t key_hash(const std::string& key) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char ch : key) h = (h ^ ch) * 0x100000001b3ULL;
  return h;
}

const char* class_word(int cls) { return cls ? "live" : "attack"; }

// The store's samples of modality `m` grouped per class by video key (the source path
// for stills, which have no video key), in sorted key order.
struct Candidates {
  bool by_video = false;
  std::map<std::string, std::vector<int64_t>> groups[2];
};

Candidates candidates(const SampleStore& store, Modality m) {
  Candidates c;
  std::vector<std::string> videos = store.videos(0, store.size());
  c.by_video = std::any_of(videos.begin(), videos.end(), [](const std::string& v) { return !v.empty(); });
  std::vector<std::string> sources;
  if (!c.by_video) sources = store.sources(0, store.size());
  for (int64_t i = 0; i < store.size(); ++i) {
    if (store.modalities()[i] != static_cast<int8_t>(m)) continue;
    int cls = store.labels()[i] == kLive ? 1 : 0;
    c.groups[cls][c.by_video ? videos[i] : sources[i]].push_back(i);
  }
  return c;
}

void add_shot(Pool& p, const SampleStore& store, int cls, const std::string& video, int64_t index) {
  Shot s{cls, video, store.frames()[static_cast<size_t>(index)], index};
  p.groups[cls].push_back({index});
  p.group_keys[cls].push_back(s.frame >= 0 ? fmt::format("{}#{}", video, s.frame) : video);
  p.shots.push_back(std::move(s));
}
}  // namespace

Pool kshot_pool(const SampleStore& store, Modality m, const KshotOptions& o) {
  if (o.k <= 0) throw UsageError(fmt::format("--shots {} must be positive", o.k));
  if (o.frames_per_shot < 0) throw UsageError("--frames-per-shot must not be negative");
  Candidates cand = candidates(store, m);
  Pool p;
  p.records = store.records();
  Rng rng(derive_seed(o.seed, {0x6b73686f74ULL /* "kshot" */}));
  for (int c : {1, 0}) {
    std::vector<std::string> keys;
    for (const auto& kv : cand.groups[c]) keys.push_back(kv.first);
    if (static_cast<int>(keys.size()) < o.k)
      throw InputError(store.path(), "",
                       fmt::format("{}-shot needs {} {} {} of modality {}, the store has {}", o.k, o.k, class_word(c),
                                   cand.by_video ? "videos" : "stills", modality_name(m), keys.size()));
    rng.shuffle(keys);
    keys.resize(static_cast<size_t>(o.k));
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      std::vector<int64_t> frames = cand.groups[c][key];
      size_t want = o.frames_per_shot == 0 ? frames.size() : static_cast<size_t>(o.frames_per_shot);
      if (frames.size() < want)
        throw InputError(store.path(), "",
                         fmt::format("--frames-per-shot {}: {} video '{}' of modality {} has only {} frame(s)",
                                     o.frames_per_shot, class_word(c), key, modality_name(m), frames.size()));
      Rng pick(derive_seed(o.seed, {0x6672616d6573ULL /* "frames" */, key_hash(key)}));
      pick.shuffle(frames);
      frames.resize(want);
      std::sort(frames.begin(), frames.end());
      for (int64_t i : frames) add_shot(p, store, c, key, i);
    }
  }
  return p;
}

Pool listed_shots_pool(const SampleStore& store, Modality m, const std::vector<Shot>& shots,
                       const std::string& list_path) {
  Candidates cand = candidates(store, m);
  Pool p;
  p.records = store.records();
  std::set<int64_t> seen;
  for (size_t line = 0; line < shots.size(); ++line) {
    const Shot& want = shots[line];
    auto where = fmt::format("line {}", line + 2);  // after the header
    std::vector<int64_t> matches;
    for (int c : {0, 1}) {
      auto it = cand.groups[c].find(want.video);
      if (it == cand.groups[c].end()) continue;
      for (int64_t i : it->second)
        if (store.frames()[static_cast<size_t>(i)] == want.frame) matches.push_back(i);
    }
    if (matches.empty())
      throw InputError(list_path, where,
                       fmt::format("{} frame {} of modality {} is not in {}", want.video, want.frame, modality_name(m),
                                   store.path()));
    if (matches.size() > 1)
      throw InputError(list_path, where,
                       fmt::format("{} frame {} matches {} samples of {} (duplicate video keys?)", want.video,
                                   want.frame, matches.size(), store.path()));
    int64_t i = matches.front();
    int cls = store.labels()[static_cast<size_t>(i)] == kLive ? 1 : 0;
    if (cls != want.cls)
      throw InputError(list_path, where,
                       fmt::format("{} frame {} is listed as {} but is {} in {}", want.video, want.frame,
                                   class_word(want.cls), class_word(cls), store.path()));
    if (!seen.insert(i).second)
      throw InputError(list_path, where, fmt::format("{} frame {} is listed twice", want.video, want.frame));
    add_shot(p, store, cls, want.video, i);
  }
  for (int c : {0, 1})
    if (p.count(c) == 0) throw InputError(list_path, "", fmt::format("the list has no {} shot", class_word(c)));
  return p;
}

void write_shots(const std::string& path, const std::vector<Shot>& shots) {
  AtomicOutput out(path);
  {
    std::ofstream f(out.temp_path());
    f << "label\tvideo\tframe\n";
    for (const auto& s : shots) f << class_word(s.cls) << '\t' << s.video << '\t' << s.frame << '\n';
    f.flush();
    if (!f) throw RuntimeFailure(fmt::format("{}: cannot write the shot list", path));
  }
  out.commit();
}

std::vector<Shot> read_shots(const std::string& path) {
  check_input_file(path);
  std::ifstream in(path);
  std::string line;
  std::vector<Shot> out;
  if (!std::getline(in, line) || line.rfind("label\tvideo\tframe", 0) != 0)
    throw InputError(path, "line 1", "expected the header 'label<TAB>video<TAB>frame' (a cmclip shot list)");
  for (int64_t n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    auto bad = [&](const std::string& what) { return InputError(path, fmt::format("line {}", n), what); };
    size_t a = line.find('\t'), b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos) throw bad("expected 3 tab-separated fields: label, video, frame");
    Shot s;
    std::string label = line.substr(0, a), frame = line.substr(b + 1);
    if (label != "live" && label != "attack") throw bad(fmt::format("label '{}': expected live or attack", label));
    s.cls = label == "live" ? 1 : 0;
    s.video = line.substr(a + 1, b - a - 1);
    if (s.video.empty()) throw bad("the video field is empty");
    char* end = nullptr;
    long v = std::strtol(frame.c_str(), &end, 10);
    if (frame.empty() || *end != '\0' || v < -1 || v > INT32_MAX)
      throw bad(fmt::format("frame '{}': expected a frame number (or -1 for a still)", frame));
    s.frame = static_cast<int32_t>(v);
    out.push_back(std::move(s));
  }
  if (out.empty()) throw InputError(path, "", "the shot list is empty");
  return out;
}

namespace {
// Each sample's subject by name: fas-preprocess numbers non-numeric subject names in
// order of appearance (kept in /subject_names), so those numbers mean nothing across
// stores; where there is no such list the number is the dataset's own. "" = unknown.
std::vector<std::string> subject_names(const SampleStore& store) {
  std::vector<std::string> names;
  if (store.file().has_attr("subject_names")) names = store.file().attr_strings("subject_names");
  std::vector<std::string> out(store.subjects().size());
  for (size_t i = 0; i < out.size(); ++i) {
    int32_t id = store.subjects()[i];
    if (id < 0) continue;
    if (names.empty()) {
      out[i] = std::to_string(id);
    } else if (static_cast<size_t>(id) < names.size()) {
      out[i] = names[static_cast<size_t>(id)];
    } else {
      throw InputError(store.path(), fmt::format("/subject[{}]", i),
                       fmt::format("subject {} is not in /subject_names ({} names)", id, names.size()));
    }
  }
  return out;
}
}  // namespace

void check_shots_disjoint(const SampleStore& train, const std::vector<Shot>& shots, const SampleStore& other) {
  std::set<std::string> videos;
  for (const auto& v : other.videos(0, other.size()))
    if (!v.empty()) videos.insert(v);
  std::vector<std::string> other_subjects = subject_names(other), train_subjects = subject_names(train);
  std::set<std::string> subjects(other_subjects.begin(), other_subjects.end());
  subjects.erase("");
  for (const auto& s : shots) {
    const std::string& subject = train_subjects[static_cast<size_t>(s.index)];
    bool same_video = videos.count(s.video) > 0;
    bool same_subject = !subject.empty() && subjects.count(subject);
    if (same_video || same_subject)
      throw InputError(train.path(), fmt::format("sample {}", s.index),
                       fmt::format("the {} shot {} frame {} ({}) also appears in --exclude {}: few-shot samples "
                                   "must not come from evaluation data",
                                   class_word(s.cls), s.video, s.frame,
                                   same_video ? "same video" : fmt::format("subject {}", subject), other.path()));
  }
}

namespace {
// One epoch's sample list for one class: one frame per group, shuffled, repeated
// (and topped up at random) to `want` entries.
std::vector<SampleRef> class_list(const Pool& pool, int cls, int store, int64_t want, uint64_t seed, int64_t epoch,
                                  bool distinct_copies) {
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
  for (uint64_t repetition = 0; static_cast<int64_t>(out.size()) < want; ++repetition) {
    std::vector<SampleRef> round = base;
    rng.shuffle(round);
    for (auto r : round) {
      if (static_cast<int64_t>(out.size()) == want) break;
      // Each repetition of an oversampled frame gets its own augmentation, so copies
      // are never identical tensors (the first pass keeps the record's seed).
      if (repetition > 0 && distinct_copies)
        r.aug_seed = derive_seed(r.aug_seed, {0x726570ULL /* "rep" */, repetition});
      out.push_back(r);
    }
  }
  return out;
}

// Alternating attack/live pairs, pair order shuffled.
std::vector<SampleRef> balanced_order(const Pool& pool, int store, int64_t pairs, const PlanOptions& o, int64_t epoch) {
  const uint64_t seed = o.seed;
  auto attack = class_list(pool, 0, store, pairs, seed, epoch, o.distinct_copies);
  auto live = class_list(pool, 1, store, pairs, seed, epoch, o.distinct_copies);
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
  if (o.global_batch < 1) throw UsageError(fmt::format("batch size x ranks = {} must be positive", o.global_batch));
  if (replay && o.global_batch % 2)
    throw UsageError(
        fmt::format("batch size x ranks = {} must be even with source replay (each batch mixes "
                    "live and attack pairs of both stores)",
                    o.global_batch));
  for (int c : {0, 1})
    if (target.count(c) == 0)
      throw UsageError(fmt::format("the training set has no {} samples", c ? "live" : "attack"));
  int64_t replay_per_batch = replay ? 2 * static_cast<int64_t>(std::lround(o.replay_ratio * o.global_batch / 2)) : 0;
  if (replay && (replay->count(0) == 0 || replay->count(1) == 0))
    throw UsageError("the replay set needs both live and attack samples");
  int64_t target_per_batch = o.global_batch - replay_per_batch;
  if (target_per_batch < (replay ? 2 : 1))
    throw UsageError("--replay-ratio leaves no room for target samples in a batch");
  // An odd batch (CoCoOp's batch of 1) cuts the alternating attack/live sequence, so
  // the classes stay balanced over every two steps rather than within each.
  int64_t target_pairs = static_cast<int64_t>(std::max(target.count(0), target.count(1)));
  int64_t steps = (2 * target_pairs + target_per_batch - 1) / target_per_batch;
  auto t_order = balanced_order(target, 0, (steps * target_per_batch + 1) / 2, o, epoch);
  std::vector<SampleRef> r_order;
  if (replay_per_batch) r_order = balanced_order(*replay, 1, steps * replay_per_batch / 2, o, epoch);
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
