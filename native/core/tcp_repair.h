// TCP sockets CRIU left in repair mode. A dump with established connections puts each of the
// tree's TCP sockets in repair mode (nothing is sent or acknowledged) and takes them out again
// only when the tree goes on running after the dump. A tree dumped to stay stopped for a move
// that then failed is resumed with them still in it: its connections would carry nothing.
#pragma once

#include <sys/types.h>

#include "core/result.h"

namespace freezedry::core {

// Takes the TCP sockets of process `pid` that are in repair mode out of it (as CRIU's own unlock
// does, with a window probe); returns how many. Sockets not in repair mode are left as they are.
Result<int> ReleaseRepairedSockets(pid_t pid);

}  // namespace freezedry::core
