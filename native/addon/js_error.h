// Native failures as JS errors: Node's fs shape {code, errno (negative), syscall, path}.
#pragma once

#include <napi.h>

#include "core/sys_error.h"

namespace freezedry::addon {

Napi::Error MakeSysError(Napi::Env env, const core::SysError& error);
Napi::Error MakeCodeError(Napi::Env env, const char* code, const std::string& message);

}  // namespace freezedry::addon
