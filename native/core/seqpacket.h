// AF_UNIX SOCK_SEQPACKET: one message per datagram, optionally carrying file descriptors.
// CRIU's RPC uses exactly this (criu-internals.md §1.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/unique_fd.h"

namespace freezedry::core {

struct Packet {
  std::vector<uint8_t> bytes;
  UniqueFd passed_fd;  // the first SCM_RIGHTS fd that came with it, if any
};

// Both ends close-on-exec; a child that must inherit one gets it dup2'ed into place.
Result<std::pair<UniqueFd, UniqueFd>> MakeSeqpacketPair();

Status SendPacket(int socket, const uint8_t* data, size_t size, int pass_fd = -1);

// One whole message; std::nullopt once the peer has closed its end.
Result<std::optional<Packet>> ReceivePacket(int socket);

}  // namespace freezedry::core
