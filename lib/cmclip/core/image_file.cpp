#include "cmclip/core/image_file.hpp"

#include <opencv2/imgcodecs.hpp>

#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"

namespace cmclip {

namespace {
uint32_t big_endian32(const std::string& b, size_t at) {
  return uint32_t(uint8_t(b[at])) << 24 | uint32_t(uint8_t(b[at + 1])) << 16 | uint32_t(uint8_t(b[at + 2])) << 8 |
         uint32_t(uint8_t(b[at + 3]));
}
uint32_t little_endian32(const std::string& b, size_t at) {
  return uint32_t(uint8_t(b[at])) | uint32_t(uint8_t(b[at + 1])) << 8 | uint32_t(uint8_t(b[at + 2])) << 16 |
         uint32_t(uint8_t(b[at + 3])) << 24;
}

// PNG: 8-byte signature, then chunks (length, type, data, CRC) up to IEND.
std::string png_truncation(const std::string& b) {
  size_t at = 8;
  while (at + 12 <= b.size()) {
    uint64_t length = big_endian32(b, at);
    std::string type = b.substr(at + 4, 4);
    if (at + 12 + length > b.size())
      return fmt::format("truncated PNG: chunk '{}' at byte {} needs {} bytes, the file ends after {}", type, at,
                         12 + length, b.size() - at);
    if (type == "IEND") return "";
    at += 12 + length;
  }
  return fmt::format("truncated PNG: no IEND chunk ({} bytes)", b.size());
}

// JPEG: the end-of-image marker must follow the last start-of-scan (entropy-coded
// data cannot contain either marker: a 0xFF there is followed by 0x00).
std::string jpeg_truncation(const std::string& b) {
  static const char sos[2] = {'\xff', '\xda'}, eoi[2] = {'\xff', '\xd9'};
  size_t last_scan = b.rfind(std::string(sos, 2));
  if (last_scan == std::string::npos) return fmt::format("truncated JPEG: no image data ({} bytes)", b.size());
  if (b.find(std::string(eoi, 2), last_scan + 2) == std::string::npos)
    return fmt::format("truncated JPEG: no end-of-image marker after the image data ({} bytes)", b.size());
  return "";
}

// BMP: the header's file size (0 is allowed: then the pixel offset must lie inside).
std::string bmp_truncation(const std::string& b) {
  if (b.size() < 14) return fmt::format("truncated BMP: {} bytes, not even the file header", b.size());
  uint32_t declared = little_endian32(b, 2), offset = little_endian32(b, 10);
  if (declared > b.size()) return fmt::format("truncated BMP: the header says {} bytes, the file has {}", declared, b.size());
  if (offset >= b.size()) return fmt::format("truncated BMP: the pixels start at byte {}, the file has {}", offset, b.size());
  return "";
}
}  // namespace

std::string image_truncation(const std::string& b) {
  if (b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return png_truncation(b);
  if (b.size() >= 3 && std::memcmp(b.data(), "\xff\xd8\xff", 3) == 0) return jpeg_truncation(b);
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return bmp_truncation(b);
  return "";
}

cv::Mat read_image_file(const std::string& path) {
  const std::string bytes = read_file(path);  // InputError when missing or unreadable
  if (bytes.empty()) throw InputError(path, "", "empty file (0 bytes), expected an image");
  if (bytes.size() > size_t(INT32_MAX)) throw InputError(path, "", "larger than 2 GiB: not an image this tool reads");
  std::string truncated = image_truncation(bytes);
  if (!truncated.empty()) throw InputError(path, "", truncated);
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                           cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw InputError(path, "", fmt::format("cannot decode the image ({})", e.err));
  }
  if (decoded.empty())
    throw InputError(path, "", "cannot decode the image (not an image file of a known format, or damaged)");
  return decoded;
}

}  // namespace cmclip
