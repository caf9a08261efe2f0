// The thread a native object owns (the CRIU channel's reader, the exit watch, the page sink, the
// uffd server): started with the object's JS callback, delivering events to it through a
// thread-safe function, stopped once and joined, and registered with the addon meanwhile so an
// environment teardown (worker exit, process exit) stops it too.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "addon/addon.h"

namespace freezedry::addon {

template <typename Event, void (*Deliver)(Napi::Env, Napi::Function, std::nullptr_t*, Event*)>
class EventThread {
 public:
  // A call into JS that fails goes back to JS as an exception; at the environment's teardown
  // (node runs the last queued calls in CleanupHandles, where no JS may run) even that fails, and
  // an exception left to node-addon-api then aborts the process: nobody is left to tell, so it
  // is dropped (seen: `freezedry restore` of a snapshot's copy, an exit reported as node exited).
  static void DeliverOrRethrow(Napi::Env env, Napi::Function callback, std::nullptr_t* context, Event* event) {
    try {
      Deliver(env, callback, context, event);
    } catch (const Napi::Error& error) {
      try {
        error.ThrowAsJavaScriptException();
      } catch (const Napi::Error&) {
        // the environment is going
      }
    }
  }
  using Function = Napi::TypedThreadSafeFunction<std::nullptr_t, Event, DeliverOrRethrow>;

  EventThread() = default;
  EventThread(const EventThread&) = delete;
  EventThread& operator=(const EventThread&) = delete;

  // Runs `body` on a new thread; it posts with Post(). The thread-safe function is released
  // when `body` returns. `owner` stays registered with the addon until Join().
  void Start(Napi::Env env, Napi::Function callback, const char* name, ThreadOwner* owner, std::function<void()> body) {
    addon_ = &Addon::Of(env);
    owner_ = owner;
    events_ = Function::New(env, callback, name, 0, 1);
    addon_->Register(owner_);
    thread_ = std::thread([this, body = std::move(body)] {
      body();
      events_.Release();
    });
  }

  // Queues one event for JS; false when it could not be queued (the environment is going).
  bool Post(std::unique_ptr<Event> event) {
    if (events_.NonBlockingCall(event.get()) != napi_ok) return false;
    event.release();  // Deliver owns it now
    return true;
  }

  // True the first time only: the owner then unblocks its thread's blocking call and Join()s.
  bool BeginStop() { return !stopping_.exchange(true); }
  bool Stopping() const { return stopping_.load(); }

  void Join() {
    if (thread_.joinable()) thread_.join();
    if (addon_ != nullptr) addon_->Unregister(owner_);
    addon_ = nullptr;
  }

  // Whether a pending callback keeps the event loop alive.
  void Ref(Napi::Env env) { events_.Ref(env); }
  void Unref(Napi::Env env) { events_.Unref(env); }

 private:
  Addon* addon_ = nullptr;
  ThreadOwner* owner_ = nullptr;
  Function events_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace freezedry::addon
