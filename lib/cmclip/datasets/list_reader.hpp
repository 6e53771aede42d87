// Readers for the list files of the FAS datasets (man fas-preprocess(1), docs/design.md §2).
// Each turns a dataset's own list into ListRecords: the path of each modality, the
// label in the toolkit's polarity (1 = live), the attack type, the subject, the video
// (grouping key) and the frame. A malformed line is an InputError naming the list,
// the line number and what was expected. Readers touch no file but the list: whether
// a path is a frame, a folder of frames or a video is settled later (face/frames.hpp).
#pragma once
#include <array>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "cmclip/core/modality.hpp"

namespace cmclip::datasets {

enum class ListFormat { casia_surf, casia_fas, cefa, wmca, tsv };
const std::vector<std::string>& list_format_names();  // casia-surf, casia-fas, cefa, wmca, tsv
ListFormat parse_list_format(const std::string& name);
const std::string& list_format_name(ListFormat f);

// Which number of a list's label column means live. `reader_default` keeps the
// format's own convention (casia-surf and cefa: 1 = live; casia-fas and wmca: 0 = live).
enum class LabelPolarity { reader_default, live_is_1, live_is_0 };
LabelPolarity parse_label_polarity(const std::string& text);  // "", "live=1", "live=0"
int live_value(ListFormat f, LabelPolarity p);                // the number that means live

struct ListRecord {
  int line = 0;  // 1-based line of the list (the first row of a grouped tsv capture)
  // Path of each modality relative to the dataset root, as written or derived from the
  // list ("" where the list gives none). Indexed by Modality.
  std::array<std::string, kModalityCount> path;
  bool container = false;   // a WMCA frame container: every non-empty path names it
  int8_t label = kLive;     // toolkit polarity: 1 live, 0 attack
  std::string attack_type;  // "" for bona fide
  std::string subject;      // as the dataset names it ("" when unknown)
  std::string video;        // grouping key, never empty
  int32_t frame = -1;       // -1: taken from the file name or the position in a video
};

struct ParsedList {
  std::vector<ListRecord> records;
  std::vector<Modality> provided;  // the modalities the list's records can give
  int lines = 0;                   // lines read (blank lines and # comments included)
};

// `list_name` is used in messages ("-" or a path).
ParsedList read_list(std::istream& in, const std::string& list_name, ListFormat format,
                     LabelPolarity polarity = LabelPolarity::reader_default);

// Parses a comma list of modalities ("rgb,depth,nir") for option `option`, in the
// order given; an unknown name or a duplicate is a UsageError.
std::vector<Modality> parse_modality_list(const std::string& text, const std::string& option);

// ---- helpers shared by the readers (exposed for the tests) ----

// Splits on runs of spaces and tabs.
std::vector<std::string> split_fields(const std::string& line);
// The modality a path names through a folder or file-name token: color/colour/rgb/
// profile -> rgb, depth -> depth, ir/nir/infrared -> nir, thermal -> thermal. Returns
// false when no token names one. `component` receives the index of the path component
// that matched (or -1 when the file stem's suffix matched, as in 000000-color.jpg).
bool modality_of_path(const std::string& path, Modality& m, int& component);
// The leading digits of the file stem ("0015.jpg" -> 15, "000000-color.jpg" -> 0);
// -1 when the stem does not start with a digit.
int32_t frame_number_of(const std::string& path);
bool has_image_extension(const std::string& path);
bool has_video_extension(const std::string& path);

}  // namespace cmclip::datasets
