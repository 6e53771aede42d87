// SHA-256 (FIPS 180-4), for checksums of downloaded weights and content hashes of
// checkpoints and sample stores.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cmclip {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(const std::string& s) { update(s.data(), s.size()); }
  std::array<uint8_t, 32> digest();
  std::string hex_digest();  // 64 lower-case hex digits

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const std::string& data);
std::string sha256_file(const std::string& path);

}  // namespace cmclip
