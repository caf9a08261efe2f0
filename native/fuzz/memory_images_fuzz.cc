// libFuzzer target: pagemap and mm images as a lazy restore reads them from an images directory
// or an archive (the plan of which pages to serve from where).
#include <cstdint>

#include "core/memory_images.h"

using namespace freezedry::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)ParsePagemapImage(data, size);
  (void)ParseMmVmas(data, size);
  return 0;
}
