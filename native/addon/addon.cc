#include "addon/addon.h"

#include <string>
#include <vector>

#include <fcntl.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include "addon/archive_wrap.h"
#include "addon/js_error.h"
#include "core/spawn.h"
#include "core/page_sink.h"
#include "core/sys_error.h"
#include "core/tcp_repair.h"

namespace freezedry::addon {

void Addon::Register(ThreadOwner* owner) {
  std::lock_guard lock(mutex_);
  owners_.insert(owner);
}

void Addon::Unregister(ThreadOwner* owner) {
  {
    std::lock_guard lock(mutex_);
    owners_.erase(owner);
  }
  // The object's thread has ended: give back what glibc kept in its arenas (a migration's
  // compression buffers and copy buffers would otherwise stay in the RSS of a long-lived agent).
  ::malloc_trim(0);
}

void Addon::ShutdownAll() {
  std::vector<ThreadOwner*> owners;
  {
    std::lock_guard lock(mutex_);
    owners.assign(owners_.begin(), owners_.end());
  }
  for (ThreadOwner* owner : owners) owner->Shutdown();
}

namespace {

// errnoName(n): the native errno table, exposed so tests can compare it with Node's.
Napi::Value ErrnoName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), core::ErrnoName(info[0].As<Napi::Number>().Int32Value()));
}

// Throws the error shape every failing native call produces (for tests of that shape).
Napi::Value ThrowSysError(const Napi::CallbackInfo& info) {
  core::SysError error{info[0].As<Napi::Number>().Int32Value(), "probe", "/probe", {}};
  throw MakeSysError(info.Env(), error);
}

}  // namespace

// socketPair(): a connected AF_UNIX stream pair, both ends close-on-exec (for CRIU's ps.fd).
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw MakeSysError(info.Env(), core::LastError("socketpair"));
  }
  core::WidenPageSocket(fds[1], true);  // CRIU's end: a Unix stream is bounded by its sender's buffer
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

// pipe(): [readEnd, writeEnd], both close-on-exec (a container's stdio: CRIU cannot dump a
// container whose stdout is a file on the host, but restores a pipe through runc).
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw MakeSysError(info.Env(), core::LastError("pipe2"));
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

// spawn(argv, { fds, newSession, env }): a child's pid, started without fork() (core/spawn.h
// says why); fds[i] becomes its fd i (-1: /dev/null). The caller reaps it (an ExitWatch does).
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsObject()) throw Napi::TypeError::New(env, "spawn(argv, options)");
  auto strings = [&](Napi::Array array, const char* what) {
    std::vector<std::string> out;
    for (uint32_t i = 0; i < array.Length(); i++) {
      Napi::Value item = array.Get(i);
      if (!item.IsString()) throw Napi::TypeError::New(env, std::string("spawn: every ") + what + " must be a string");
      out.push_back(item.As<Napi::String>().Utf8Value());
    }
    return out;
  };
  Napi::Object options = info[1].As<Napi::Object>();
  core::SpawnOptions spawn;
  if (options.Get("fds").IsArray()) {
    Napi::Array fds = options.Get("fds").As<Napi::Array>();
    for (uint32_t i = 0; i < fds.Length(); i++) spawn.fds.push_back(fds.Get(i).As<Napi::Number>().Int32Value());
  }
  spawn.new_session = options.Get("newSession").ToBoolean();
  if (options.Get("env").IsArray()) spawn.environment = strings(options.Get("env").As<Napi::Array>(), "environment entry");
  auto spawned = core::Spawn(strings(info[0].As<Napi::Array>(), "argument"), spawn);
  if (!spawned.Ok()) throw MakeSysError(env, spawned.Error());
  return Napi::Number::New(env, spawned.Value());
}

// releaseRepairedSockets(pid): takes that process's TCP sockets out of the repair mode a CRIU
// dump left them in (see core/tcp_repair.h); how many it released.
Napi::Value ReleaseRepairedSockets(const Napi::CallbackInfo& info) {
  auto released = core::ReleaseRepairedSockets(static_cast<pid_t>(info[0].As<Napi::Number>().Int32Value()));
  if (!released.Ok()) throw MakeSysError(info.Env(), released.Error());
  return Napi::Number::New(info.Env(), released.Value());
}

// reseedRandom(): makes OpenSSL (Node's, whose symbols the node binary exports) reseed its
// generators from the kernel. A snapshot's copies start with the original's generator state
// and would otherwise draw the same "random" bytes as each other.
Napi::Value ReseedRandom(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), RAND_poll() == 1); }

// xxh3(bytes): the checksum archives use for their entries, as 16 hex digits.
Napi::Value Xxh3(const Napi::CallbackInfo& info) {
  auto bytes = info[0].As<Napi::Uint8Array>();
  return Napi::String::New(info.Env(), HexChecksum(XXH3_64bits(bytes.Data(), bytes.ByteLength())));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* addon = new Addon();
  env.SetInstanceData<Addon>(addon);  // deleted by Node after the cleanup hooks ran
  env.AddCleanupHook([addon]() { addon->ShutdownAll(); });
  exports.Set("CriuChannel", InitCriuChannel(env));
  exports.Set("ExitWatch", InitExitWatch(env));
  exports.Set("ArchiveWriter", InitArchiveWriter(env));
  exports.Set("ArchiveReader", InitArchiveReader(env));
  exports.Set("PageSink", InitPageSink(env));
  exports.Set("UffdServer", InitUffdServer(env));
  exports.Set("DirtyTracker", InitDirtyTracker(env));
  InitMemoryFunctions(env, exports);
  InitMemoryImageFunctions(env, exports);
  InitFrameFunctions(env, exports);
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("releaseRepairedSockets", Napi::Function::New(env, ReleaseRepairedSockets, "releaseRepairedSockets"));
  exports.Set("reseedRandom", Napi::Function::New(env, ReseedRandom, "reseedRandom"));
  exports.Set("xxh3", Napi::Function::New(env, Xxh3, "xxh3"));
  exports.Set("errnoName", Napi::Function::New(env, ErrnoName, "errnoName"));
  exports.Set("throwSysError", Napi::Function::New(env, ThrowSysError, "throwSysError"));
  return exports;
}

}  // namespace freezedry::addon

// NODE_API_MODULE pastes the init function's name into an identifier, so it must be unqualified.
static Napi::Object InitFreezedry(Napi::Env env, Napi::Object exports) { return freezedry::addon::Init(env, exports); }
NODE_API_MODULE(freezedry, InitFreezedry)
