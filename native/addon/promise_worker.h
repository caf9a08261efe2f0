// A bounded one-shot call on the libuv threadpool that settles a promise: Execute runs the
// work (no JS there), Convert turns its value into JS on the main thread.
#pragma once

#include <napi.h>

#include <cerrno>
#include <exception>
#include <functional>
#include <new>
#include <optional>

#include "addon/js_error.h"
#include "core/result.h"

namespace freezedry::addon {

template <typename T>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<core::Result<T>()>;
  using Convert = std::function<Napi::Value(Napi::Env, T&)>;

  static Napi::Promise Run(Napi::Env env, Work work, Convert convert) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(convert));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();  // deleted by node-addon-api once settled
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, Work work, Convert convert)
      : Napi::AsyncWorker(env, "freezedry.PromiseWorker"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        convert_(std::move(convert)) {}

  // A C++ exception (std::bad_alloc above all) must reject the promise, not leave it pending.
  void Execute() override {
    try {
      auto result = work_();
      if (result.Ok()) {
        value_.emplace(result.Take());
      } else {
        error_ = result.Error();
      }
    } catch (const std::bad_alloc&) {
      error_ = core::Failure(ENOMEM, "native", "out of memory");
    } catch (const std::exception& e) {
      error_ = core::Failure(EIO, "native", e.what());
    }
  }

  // Reached only through SetError, which Execute never calls; settles the promise all the same.
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

  void OnOK() override {
    Napi::Env env = Env();
    if (value_) {
      deferred_.Resolve(convert_(env, *value_));
    } else {
      deferred_.Reject(MakeSysError(env, error_).Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Convert convert_;
  std::optional<T> value_;
  core::SysError error_;
};

}  // namespace freezedry::addon
