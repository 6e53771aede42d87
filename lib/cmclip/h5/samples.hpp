// The sample store (format cmclip.samples, docs/design.md §4, man fas-formats(5)):
// face crops as uint8 [N,H,W,C] (one image a chunk, deflate+shuffle, Fletcher-32)
// with per-sample metadata. One label polarity inside the toolkit: 1 = live.
#pragma once
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmclip/core/modality.hpp"
#include "cmclip/h5/h5.hpp"

namespace cmclip {

class AtomicOutput;

inline constexpr const char* kSamplesFormat = "cmclip.samples";
inline constexpr int64_t kSamplesVersion = 1;

template <size_t N>
std::array<float, N> unknown_floats() {
  std::array<float, N> a;
  a.fill(std::numeric_limits<float>::quiet_NaN());
  return a;
}

struct SampleMeta {
  int8_t label = kLive;  // 1 live, 0 attack
  int16_t attack = 0;    // 0 bona fide, else index into attack_names
  Modality modality = Modality::rgb;
  int32_t subject = -1;
  std::string video;  // grouping key (video-level scores, K-shot sampling)
  int32_t frame = 0;
  std::string source;                     // original path (and frame)
  std::array<float, 4> bbox{0, 0, 0, 0};  // x, y, w, h in the original frame
  int64_t record = -1;                    // co-registered modalities of one capture share it
  // Face geometry, stored where the writer has with_face_geometry() (fas-preprocess
  // with a detector); NaN where unknown (no landmarks, no face, no detector).
  std::array<float, 10> landmarks = unknown_floats<10>();     // 5 x (x, y) in the source frame
  std::array<float, 6> crop_transform = unknown_floats<6>();  // source frame -> crop, 2 x 3 row-major
  float detector_score = std::numeric_limits<float>::quiet_NaN();
};

// Streams samples into a new store: constant memory, written in chunks as they come.
class SampleWriter {
 public:
  SampleWriter(const std::string& path, int height, int width, int channels);
  ~SampleWriter();

  // Code of an attack type, registering a new name on first use ("" or "bona fide" is 0).
  int16_t attack_code(const std::string& name);
  void set_attack_names(const std::vector<std::string>& names);  // index = code, [0] = bona fide
  void set_attr(const std::string& name, const h5::AttrValue& value);
  // Also writes /landmarks [N,5,2], /crop_transform [N,2,3] and /detector_score [N]
  // (float32) from each SampleMeta. Before the first append.
  void with_face_geometry();

  // `image` is H*W*C bytes, row-major HWC (RGB order for colour images).
  void append(const uint8_t* image, const SampleMeta& meta);
  int64_t size() const { return count_; }
  // Writes what is buffered, the attack names and attributes, and closes the file,
  // still under its temporary name (temp_path()): the step a full disk fails. A tool
  // with several outputs finishes them all before it commits any, so a failure
  // leaves none of them.
  void finish();
  const std::string& temp_path() const;
  // finish() (unless done), then renames the file into place. Without commit() the
  // output is removed.
  void commit();

 private:
  void flush_buffer();
  std::unique_ptr<AtomicOutput> out_;
  std::unique_ptr<h5::File> file_;
  int h_, w_, c_;
  int64_t count_ = 0;
  std::vector<std::string> attack_names_{"bona fide"};
  std::map<std::string, h5::AttrValue> attrs_;
  std::vector<uint8_t> images_;
  std::vector<SampleMeta> metas_;
  bool finished_ = false;
  bool geometry_ = false;
};

// A validated, read-only sample store. Small per-sample numbers are loaded at open;
// images and strings are read on demand, so memory stays small for large stores.
class SampleStore {
 public:
  explicit SampleStore(const std::string& path);

  const std::string& path() const { return path_; }
  int64_t size() const { return n_; }
  int height() const { return h_; }
  int width() const { return w_; }
  int channels() const { return c_; }
  size_t image_bytes() const { return size_t(h_) * w_ * c_; }

  const std::vector<int8_t>& labels() const { return label_; }
  const std::vector<int16_t>& attacks() const { return attack_; }
  const std::vector<int8_t>& modalities() const { return modality_; }
  const std::vector<int32_t>& subjects() const { return subject_; }
  const std::vector<int32_t>& frames() const { return frame_; }
  const std::vector<std::string>& attack_names() const { return attack_names_; }
  bool has_record() const { return !record_.empty(); }
  const std::vector<int64_t>& records() const { return record_; }

  std::vector<std::string> videos(int64_t start, int64_t count) const;
  std::vector<std::string> sources(int64_t start, int64_t count) const;
  std::vector<float> bboxes(int64_t start, int64_t count) const;  // count*4
  // Stores written with face geometry (fas-preprocess with a detector since the
  // landmark detector came); older stores have none and these return NaN.
  bool has_face_geometry() const { return !score_.empty(); }
  std::vector<float> landmarks(int64_t start, int64_t count) const;        // count*10
  std::vector<float> crop_transforms(int64_t start, int64_t count) const;  // count*6
  float detector_score(int64_t index) const;
  SampleMeta meta(int64_t index) const;

  // count*H*W*C bytes into `out`. Errors name the file and sample index.
  void read_images(int64_t start, int64_t count, uint8_t* out) const;

  const h5::File& file() const { return *file_; }
  // A short fingerprint of the store (sha256 of its size, shape, created_at and
  // label/modality arrays): scores record it, and merge checks it.
  std::string fingerprint() const;
  std::string attr_or(const std::string& name, const std::string& fallback) const;

 private:
  std::string path_;
  std::shared_ptr<h5::File> file_;
  int64_t n_ = 0;
  int h_ = 0, w_ = 0, c_ = 0;
  std::vector<int8_t> label_, modality_;
  std::vector<int16_t> attack_;
  std::vector<int32_t> subject_, frame_;
  std::vector<int64_t> record_;
  std::vector<float> score_;
  std::vector<std::string> attack_names_;
  std::vector<float> rows_or_unknown(const char* name, int64_t start, int64_t count, size_t per_row) const;
};

}  // namespace cmclip
