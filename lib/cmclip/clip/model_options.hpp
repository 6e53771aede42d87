// The CLIP a tool works with and its vocabulary: one option group for every tool. The
// tool names the model's flag (fas-embed --model, fas-pretrain --clip, fas-fewshot
// --init) and says what it accepts; --bpe, --vision-heads and --text-heads are the same
// everywhere. No LibTorch types here: tools include it.
#pragma once
#include <string>

#include "cmclip/clip/config.hpp"

namespace CLI {
class App;
}

namespace cmclip::clip {

struct ClipModelOptions {
  std::string model;    // archive, cmclip checkpoint, builtin:tiny or builtin:vit-b-16-random
  std::string bpe;      // empty: $CMCLIP_BPE, else the default path
  HeadOverrides heads;  // unset: the checkpoint's attribute, else width/64

  // How the tool names the model: its flag, what it accepts, and whether it must be given.
  struct ModelFlag {
    const char* name;
    const char* help;
    bool required;
  };
  void register_on(CLI::App& app, const ModelFlag& flag);
  void validate() const;  // head counts, when given, are positive
  bool heads_given() const { return heads.vision_heads.has_value() || heads.text_heads.has_value(); }
};

}  // namespace cmclip::clip
