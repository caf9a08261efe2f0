#include "addon/addon.h"

#include <vector>

#include "addon/js_error.h"
#include "core/sys_error.h"

namespace freezedry::addon {

void Addon::Register(ThreadOwner* owner) {
  std::lock_guard lock(mutex_);
  owners_.insert(owner);
}

void Addon::Unregister(ThreadOwner* owner) {
  std::lock_guard lock(mutex_);
  owners_.erase(owner);
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
  core::SysError error{info[0].As<Napi::Number>().Int32Value(), "probe", "/probe"};
  throw MakeSysError(info.Env(), error);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* addon = new Addon();
  env.SetInstanceData<Addon>(addon);  // deleted by Node after the cleanup hooks ran
  env.AddCleanupHook([addon]() { addon->ShutdownAll(); });
  exports.Set("CriuChannel", InitCriuChannel(env));
  exports.Set("ExitWatch", InitExitWatch(env));
  exports.Set("errnoName", Napi::Function::New(env, ErrnoName, "errnoName"));
  exports.Set("throwSysError", Napi::Function::New(env, ThrowSysError, "throwSysError"));
  return exports;
}

}  // namespace freezedry::addon

// NODE_API_MODULE pastes the init function's name into an identifier, so it must be unqualified.
static Napi::Object InitFreezedry(Napi::Env env, Napi::Object exports) {
  return freezedry::addon::Init(env, exports);
}
NODE_API_MODULE(freezedry, InitFreezedry)
