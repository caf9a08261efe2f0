#include "addon/js_error.h"

namespace freezedry::addon {

Napi::Error MakeSysError(Napi::Env env, const core::SysError& error) {
  Napi::Error js = Napi::Error::New(env, error.Message());
  js.Set("code", error.Code());
  js.Set("errno", Napi::Number::New(env, -error.err));
  js.Set("syscall", error.syscall);
  if (!error.path.empty()) js.Set("path", error.path);
  if (!error.detail.empty()) js.Set("detail", error.detail);
  return js;
}

Napi::Error MakeCodeError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error js = Napi::Error::New(env, message);
  js.Set("code", code);
  return js;
}

}  // namespace freezedry::addon
