// ExitWatch for JS: reports once when a process exits, reaping it if it is our child (a tree
// restored attached to the caller is one).
#include <napi.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "addon/addon.h"
#include "addon/js_error.h"
#include "core/exit_watch.h"

namespace freezedry::addon {
namespace {

struct ExitEvent {
  std::optional<core::ExitStatus> status;
  core::SysError error;
};

void DeliverExit(Napi::Env env, Napi::Function callback, std::nullptr_t*, ExitEvent* raw) {
  std::unique_ptr<ExitEvent> event(raw);
  if (env == nullptr || callback == nullptr) return;
  if (!event->status) {
    callback.Call({MakeSysError(env, event->error).Value()});
    return;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("reaped", event->status->reaped);
  result.Set("code", event->status->code);
  result.Set("signal", event->status->signal);
  callback.Call({env.Null(), result});
}

using ExitFunction = Napi::TypedThreadSafeFunction<std::nullptr_t, ExitEvent, DeliverExit>;

class ExitWatchWrap : public Napi::ObjectWrap<ExitWatchWrap>, public ThreadOwner {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ExitWatch",
                       {
                           InstanceMethod<&ExitWatchWrap::Unref>("unref"),
                           InstanceMethod<&ExitWatchWrap::Close>("close"),
                       });
  }

  // new ExitWatch(pid, onExit(err, {reaped, code, signal}))
  explicit ExitWatchWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<ExitWatchWrap>(info), addon_(&Addon::Of(info.Env())) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "ExitWatch(pid, onExit)");
    }
    auto pidfd = core::OpenPidfd(info[0].As<Napi::Number>().Int32Value());
    if (!pidfd.Ok()) throw MakeSysError(env, pidfd.Error());
    auto wake = core::WakeEvent::Create();
    if (!wake.Ok()) throw MakeSysError(env, wake.Error());
    pidfd_ = pidfd.Take();
    wake_.emplace(wake.Take());
    events_ = ExitFunction::New(env, info[1].As<Napi::Function>(), "freezedry.ExitWatch", 0, 1);
    addon_->Register(this);
    waiter_ = std::thread([this] { Wait(); });
  }

  ~ExitWatchWrap() override { Shutdown(); }

  void Shutdown() override {
    if (shut_down_.exchange(true)) return;
    wake_->Signal();
    if (waiter_.joinable()) waiter_.join();
    // The pidfd and the wake event go now, not when the garbage collector gets to this object.
    pidfd_.Reset();
    wake_.reset();
    addon_->Unregister(this);
  }

 private:
  void Wait() {
    auto status = core::CatchAll([&] { return core::WaitForExit(pidfd_.Get(), *wake_); }, "exit watch");
    // Closed meanwhile: nobody listens, and a call queued now could reach a tearing-down env.
    if (!shut_down_ && (!status.Ok() || status.Value().has_value())) {
      auto event = std::make_unique<ExitEvent>();
      if (status.Ok()) {
        event->status = status.Value();
      } else {
        event->error = status.Error();
      }
      if (events_.NonBlockingCall(event.get()) == napi_ok) event.release();
    }
    events_.Release();
  }

  void Unref(const Napi::CallbackInfo& info) { events_.Unref(info.Env()); }
  void Close(const Napi::CallbackInfo&) { Shutdown(); }

  Addon* addon_;
  core::UniqueFd pidfd_;
  std::optional<core::WakeEvent> wake_;
  ExitFunction events_;
  std::thread waiter_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace

Napi::Function InitExitWatch(Napi::Env env) { return ExitWatchWrap::Init(env); }

}  // namespace freezedry::addon
