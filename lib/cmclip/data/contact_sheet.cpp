#include "cmclip/data/contact_sheet.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"

namespace cmclip::data {

namespace {
constexpr int64_t kScanLimit = 200000;  // samples looked at for the sheet
constexpr int kGap = 2, kHeader = 30;
}  // namespace

void write_contact_sheet(const SampleStore& store, const std::string& png_path, int max_rows, int thumb) {
  AtomicOutput out(png_path);
  write_contact_sheet(store, out, max_rows, thumb);
  out.commit();
}

void write_contact_sheet(const SampleStore& store, const AtomicOutput& out, int max_rows, int thumb) {
  const std::string& png_path = out.path();
  int64_t n = std::min(store.size(), kScanLimit);
  if (n == 0) throw InputError(store.path(), "", "empty sample store: nothing to show");
  std::vector<std::string> videos = store.videos(0, n);
  const auto& subject = store.subjects();
  const auto& attack = store.attacks();
  const auto& modality = store.modalities();
  bool by_subject = std::any_of(subject.begin(), subject.begin() + n, [](int32_t s) { return s >= 0; });

  std::map<std::string, int> row_of;  // subject or video -> row
  std::set<int16_t> attacks;
  std::set<int8_t> modalities;
  // (row, attack) -> record shown; (row, attack, modality) -> sample
  std::map<std::pair<int, int16_t>, int64_t> record_of;
  std::map<std::tuple<int, int16_t, int8_t>, int64_t> cell;
  for (int64_t i = 0; i < n; ++i) {
    std::string key = by_subject ? std::to_string(subject[i]) : videos[i];
    auto it = row_of.find(key);
    if (it == row_of.end()) {
      if (static_cast<int>(row_of.size()) >= max_rows) continue;
      it = row_of.emplace(key, static_cast<int>(row_of.size())).first;
    }
    int row = it->second;
    int64_t rec = store.has_record() ? store.records()[i] : i;
    auto [r, fresh] = record_of.emplace(std::make_pair(row, attack[i]), rec);
    if (!fresh && r->second != rec && store.has_record()) continue;  // a later capture
    attacks.insert(attack[i]);
    modalities.insert(modality[i]);
    cell.emplace(std::make_tuple(row, attack[i], modality[i]), i);
  }

  int side = std::min(thumb, std::max(store.height(), store.width()));
  int cols = static_cast<int>(attacks.size() * modalities.size());
  int rows = static_cast<int>(row_of.size());
  cv::Mat sheet(kHeader + rows * (side + kGap), cols * (side + kGap), CV_8UC3, cv::Scalar(255, 255, 255));
  std::vector<uint8_t> buf(store.image_bytes());
  int col = 0;
  for (int16_t a : attacks) {
    for (int8_t m : modalities) {
      int x = col * (side + kGap);
      std::string name = store.attack_names().at(static_cast<size_t>(a));
      if (name.size() > 12) name = name.substr(0, 12);
      // Labels shrink to their column, so that a long name does not run into the next.
      auto label = [&](const std::string& text, int y, const cv::Scalar& colour) {
        int base = 0;
        double width = cv::getTextSize(text, cv::FONT_HERSHEY_PLAIN, 0.9, 1, &base).width;
        double scale = std::min(0.9, 0.9 * (side - 3) / std::max(1.0, width));
        cv::putText(sheet, text, {x + 2, y}, cv::FONT_HERSHEY_PLAIN, scale, colour, 1, cv::LINE_AA);
      };
      label(name, 12, cv::Scalar(0, 0, 0));
      label(modality_name(static_cast<Modality>(m)), 25, cv::Scalar(0, 0, 160));
      for (int row = 0; row < rows; ++row) {
        auto it = cell.find(std::make_tuple(row, a, m));
        if (it == cell.end()) continue;
        store.read_images(it->second, 1, buf.data());
        cv::Mat img(store.height(), store.width(), store.channels() == 3 ? CV_8UC3 : CV_8UC1, buf.data());
        cv::Mat bgr, small;
        cv::cvtColor(img, bgr, store.channels() == 3 ? cv::COLOR_RGB2BGR : cv::COLOR_GRAY2BGR);
        cv::resize(bgr, small, cv::Size(side, side), 0, 0, side < img.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
        small.copyTo(sheet(cv::Rect(x, kHeader + row * (side + kGap), side, side)));
      }
      ++col;
    }
  }
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", sheet, png)) throw RuntimeFailure(png_path, "", "cannot encode PNG");
  int fd = ::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ::write(fd, png.data(), png.size()) != static_cast<ssize_t>(png.size())) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw RuntimeFailure(png_path, "", std::string("cannot write (disk full?): ") + std::strerror(err));
  }
  if (::close(fd) != 0)
    throw RuntimeFailure(png_path, "", std::string("cannot write (disk full?): ") + std::strerror(errno));
}

}  // namespace cmclip::data
