#pragma once
// The one JSON writer (nlohmann-json): every JSON tally prints goes through dump(), so
// strings are always escaped (invalid UTF-8 becomes U+FFFD), non-finite numbers become
// null, and 128-bit integers are written as exact JSON numbers of any size.
#include <nlohmann/json.hpp>
#include <string>

#include "core/types.hpp"

namespace tally::io {

using Json = nlohmann::ordered_json;

/// An exact integer of any size (dump() writes it as a bare JSON number).
[[nodiscard]] Json exact(core::i128 value);
/// One line of JSON, no trailing newline.
[[nodiscard]] std::string dump(const Json& value);

}  // namespace tally::io
