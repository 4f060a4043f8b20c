#include "io/json.hpp"

#include <fmt/format.h>

namespace tally::io {

namespace {
// nlohmann holds at most 64-bit integers: a 128-bit one travels as a string behind this
// marker and is unquoted after dumping. NUL never occurs in paths, names or messages
// (C strings), and dump() escapes it, so no other value can look like the marker.
constexpr const char* kMarker = "\x01tally-int:";
constexpr const char* kDumped = "\"\\u0001tally-int:";
}  // namespace

Json exact(core::i128 value) {
  if (value >= INT64_MIN && value <= INT64_MAX) return std::int64_t(value);
  return std::string(kMarker) + fmt::format("{}", value);
}

std::string dump(const Json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string marker = kDumped;
  for (std::size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at)) {
    const std::size_t end = text.find('"', at + marker.size());
    text = text.substr(0, at) + text.substr(at + marker.size(), end - at - marker.size()) + text.substr(end + 1);
  }
  return text;
}

}  // namespace tally::io
