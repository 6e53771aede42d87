// fas-embed: placeholder main until its capability lands.
#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"

int main(int argc, char** argv) {
  cmclip::Tool tool("fas-embed", "fas-embed", "");
  return tool.run(argc, argv, [] { throw cmclip::RuntimeFailure("fas-embed is not implemented in this build yet"); });
}
