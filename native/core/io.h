// Whole reads and writes on a file or socket: retried on EINTR and short counts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/result.h"

namespace freezedry::core {

// Reads exactly `size` bytes; EPIPE if the other end closes first.
Status ReadFully(int fd, uint8_t* data, size_t size);

// Writes all `size` bytes.
Status WriteFully(int fd, const uint8_t* data, size_t size);

}  // namespace freezedry::core
