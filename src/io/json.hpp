#pragma once
// The one JSON writer (nlohmann-json): every JSON tally prints goes through dump(), so
// strings are always escaped (invalid UTF-8 becomes U+FFFD), non-finite numbers become
// null, and 128-bit integers are written as exact JSON numbers of any size.
#include <nlohmann/json.hpp>
#include <string>

#include "core/types.hpp"

namespace tally::io {

using Json = nlohmann::ordered_json;

/// An exact integer of any size. Within int64 it is an ordinary JSON integer; beyond,
/// nlohmann cannot hold it, so it is kept as a tagged binary value (a type no string
/// or number can take) that dump() writes as bare decimal digits.
[[nodiscard]] Json exact(core::i128 value);
/// One line of compact JSON, no trailing newline. Throws std::logic_error for a binary
/// value that exact() did not make (JSON has no binary type).
[[nodiscard]] std::string dump(const Json& value);

}  // namespace tally::io
