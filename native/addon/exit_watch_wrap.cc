// ExitWatch for JS: reports once when a process exits, reaping it if it is our child (a tree
// restored attached to the caller is one).
#include <napi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <memory>
#include <optional>

#include "addon/addon.h"
#include "addon/event_thread.h"
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

class ExitWatchWrap : public Napi::ObjectWrap<ExitWatchWrap>, public ThreadOwner {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ExitWatch",
                       {
                           InstanceMethod<&ExitWatchWrap::Unref>("unref"),
                           InstanceMethod<&ExitWatchWrap::Kill>("kill"),
                           InstanceMethod<&ExitWatchWrap::Close>("close"),
                       });
  }

  // new ExitWatch(pid, onExit(err, {reaped, code, signal}))
  explicit ExitWatchWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ExitWatchWrap>(info) {
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
    waiter_.Start(env, info[1].As<Napi::Function>(), "freezedry.ExitWatch", this, [this] { Wait(); });
  }

  ~ExitWatchWrap() override { Shutdown(); }

  void Shutdown() override {
    if (!waiter_.BeginStop()) return;
    wake_->Signal();
    waiter_.Join();
    // The pidfd and the wake event go now, not when the garbage collector gets to this object.
    pidfd_.Reset();
    wake_.reset();
  }

 private:
  void Wait() {
    auto status = core::CatchAll([&] { return core::WaitForExit(pidfd_.Get(), *wake_); }, "exit watch");
    // Closed meanwhile: nobody listens, and a call queued now could reach a tearing-down env.
    if (!waiter_.Stopping() && (!status.Ok() || status.Value().has_value())) {
      auto event = std::make_unique<ExitEvent>();
      if (status.Ok()) {
        event->status = status.Value();
      } else {
        event->error = status.Error();
      }
      waiter_.Post(std::move(event));
    }
  }

  void Unref(const Napi::CallbackInfo& info) { waiter_.Unref(info.Env()); }

  // kill(signal): through the pidfd, so never to a process that took the pid over; false once
  // the process is gone (or the watch closed).
  Napi::Value Kill(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "kill(signal)");
    bool sent =
        pidfd_.Get() >= 0 && ::syscall(SYS_pidfd_send_signal, pidfd_.Get(), info[0].As<Napi::Number>().Int32Value(), nullptr, 0) == 0;
    return Napi::Boolean::New(info.Env(), sent);
  }
  void Close(const Napi::CallbackInfo&) { Shutdown(); }

  core::UniqueFd pidfd_;
  std::optional<core::WakeEvent> wake_;
  EventThread<ExitEvent, DeliverExit> waiter_;
};

}  // namespace

Napi::Function InitExitWatch(Napi::Env env) { return ExitWatchWrap::Init(env); }

}  // namespace freezedry::addon
