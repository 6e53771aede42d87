#include "cmclip/core/image_file.hpp"

#include <opencv2/imgcodecs.hpp>

#include <cctype>
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
  if (declared > b.size())
    return fmt::format("truncated BMP: the header says {} bytes, the file has {}", declared, b.size());
  if (offset >= b.size())
    return fmt::format("truncated BMP: the pixels start at byte {}, the file has {}", offset, b.size());
  return "";
}
}  // namespace

namespace {
// Width and height from the header of a PNG (IHDR), JPEG (the start-of-frame marker),
// BMP or binary/ASCII PNM file; {0, 0} when not found (the decoder then decides).
struct Dimensions {
  uint64_t width = 0, height = 0;
};

Dimensions png_dimensions(const std::string& b) {
  if (b.size() < 24 || b.compare(12, 4, "IHDR") != 0) return {};
  return {big_endian32(b, 16), big_endian32(b, 20)};
}

Dimensions jpeg_dimensions(const std::string& b) {
  size_t at = 2;
  while (at + 4 <= b.size()) {
    if (uint8_t(b[at]) != 0xff) {  // stray bytes before a marker: the decoder skips them too
      ++at;
      continue;
    }
    uint8_t marker = uint8_t(b[at + 1]);
    if (marker == 0xff) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {  // no length field
      at += 2;
      continue;
    }
    if (marker == 0xda || marker == 0xd9) return {};  // image data before any frame header
    size_t length = size_t(uint8_t(b[at + 2])) << 8 | uint8_t(b[at + 3]);
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
      if (at + 9 > b.size()) return {};
      return {uint64_t(uint8_t(b[at + 7])) << 8 | uint8_t(b[at + 8]),
              uint64_t(uint8_t(b[at + 5])) << 8 | uint8_t(b[at + 6])};
    }
    at += 2 + length;
  }
  return {};
}

Dimensions bmp_dimensions(const std::string& b) {
  if (b.size() < 26) return {};
  uint32_t header = little_endian32(b, 14);
  if (header == 12)
    return {uint64_t(uint8_t(b[18]) | uint8_t(b[19]) << 8), uint64_t(uint8_t(b[20]) | uint8_t(b[21]) << 8)};
  auto magnitude = [](uint32_t v) { return v & 0x80000000u ? uint64_t(~v) + 1 : uint64_t(v); };  // top-down: < 0
  return {magnitude(little_endian32(b, 18)), magnitude(little_endian32(b, 22))};
}

Dimensions pnm_dimensions(const std::string& b) {
  // "P1".."P6", then width and height as decimal tokens, with '#' comments to the end of a line.
  size_t at = 2;
  uint64_t value[2] = {0, 0};
  for (uint64_t& v : value) {
    while (at < b.size() && (std::isspace(uint8_t(b[at])) || b[at] == '#')) {
      if (b[at] == '#')
        while (at < b.size() && b[at] != '\n') ++at;
      else ++at;
    }
    if (at >= b.size() || !std::isdigit(uint8_t(b[at]))) return {};
    while (at < b.size() && std::isdigit(uint8_t(b[at])) && v < (uint64_t(1) << 40))
      v = v * 10 + uint64_t(b[at++] - '0');
  }
  return {value[0], value[1]};
}

Dimensions header_dimensions(const std::string& b) {
  if (b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return png_dimensions(b);
  if (b.size() >= 3 && std::memcmp(b.data(), "\xff\xd8\xff", 3) == 0) return jpeg_dimensions(b);
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return bmp_dimensions(b);
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return pnm_dimensions(b);
  return {};
}

std::string too_many_pixels(uint64_t width, uint64_t height) {
  if (width == 0 || height == 0 || width * height <= kMaxImagePixels) return "";
  return fmt::format("{}x{} pixels, more than the {} ({} x {}) the tools read (a damaged header?)", width, height,
                     kMaxImagePixels, 8192, 8192);
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
  // A header can declare billions of pixels in a few hundred bytes: refuse before
  // decoding (and after, for the formats whose header is not read here).
  const Dimensions declared = header_dimensions(bytes);
  if (std::string large = too_many_pixels(declared.width, declared.height); !large.empty())
    throw InputError(path, "", large);
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                           cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw InputError(path, "", fmt::format("cannot decode the image ({})", e.err));
  }
  if (decoded.empty())
    throw InputError(path, "", "cannot decode the image (not an image file of a known format, or damaged)");
  if (std::string large = too_many_pixels(uint64_t(decoded.cols), uint64_t(decoded.rows)); !large.empty())
    throw InputError(path, "", large);
  return decoded;
}

}  // namespace cmclip
