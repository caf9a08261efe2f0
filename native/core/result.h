// Result<T>: a value or a SysError (gcc 12 has no std::expected in C++20).
#pragma once

#include <utility>
#include <variant>

#include "core/sys_error.h"

namespace freezedry::core {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}
  Result(SysError error) : data_(std::move(error)) {}

  bool Ok() const { return data_.index() == 0; }
  T& Value() { return std::get<0>(data_); }
  T&& Take() { return std::get<0>(std::move(data_)); }
  const SysError& Error() const { return std::get<1>(data_); }

 private:
  std::variant<T, SysError> data_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status OkStatus() { return Unit{}; }

}  // namespace freezedry::core
