// Per-environment state: every live native object that owns a thread registers here, so an
// environment teardown (worker exit, process exit) stops and joins them all.
#pragma once

#include <napi.h>

#include <mutex>
#include <set>

namespace freezedry::addon {

class ThreadOwner {
 public:
  virtual ~ThreadOwner() = default;
  // Stops the thread and waits for it; idempotent.
  virtual void Shutdown() = 0;
};

class Addon {
 public:
  static Addon& Of(Napi::Env env) { return *env.GetInstanceData<Addon>(); }
  void Register(ThreadOwner* owner);
  void Unregister(ThreadOwner* owner);
  void ShutdownAll();

  // For type checks of objects passed back in (a page sink's archive writer).
  Napi::FunctionReference archive_writer_class;
  Napi::FunctionReference archive_reader_class;

 private:
  std::mutex mutex_;
  std::set<ThreadOwner*> owners_;
};

Napi::Function InitCriuChannel(Napi::Env env);
Napi::Function InitExitWatch(Napi::Env env);
Napi::Function InitPageSink(Napi::Env env);
Napi::Function InitUffdServer(Napi::Env env);
Napi::Function InitDirtyTracker(Napi::Env env);
void InitMemoryFunctions(Napi::Env env, Napi::Object exports);
void InitMemoryImageFunctions(Napi::Env env, Napi::Object exports);
void InitFrameFunctions(Napi::Env env, Napi::Object exports);

}  // namespace freezedry::addon
