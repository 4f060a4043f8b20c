#include "io/json.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <stdexcept>

namespace tally::io {

namespace {
// Subtype of the binary values that carry an exact() integer: 16 bytes, little-endian
// two's complement. Nothing else in tally makes binary values.
constexpr std::uint64_t kExactSubtype = 0x7a;

std::string scalar(const Json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

core::i128 exact_value(const Json::binary_t& bytes) {
  if (!bytes.has_subtype() || bytes.subtype() != kExactSubtype || bytes.size() != 16)
    throw std::logic_error("a JSON binary value that is not an exact integer");
  core::u128 bits = 0;
  for (std::size_t i = 16; i-- > 0;) bits = (bits << 8) | bytes[i];
  return core::i128(bits);
}

// nlohmann's own compact dump(), except that exact() integers print as their digits.
void write(const Json& value, std::string& out) {
  switch (value.type()) {
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ',';
        first = false;
        out += scalar(Json(it.key()));
        out += ':';
        write(it.value(), out);
      }
      out += '}';
      return;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value) {
        if (!first) out += ',';
        first = false;
        write(element, out);
      }
      out += ']';
      return;
    }
    case Json::value_t::binary:
      out += fmt::format("{}", exact_value(value.get_binary()));
      return;
    default:
      out += scalar(value);  // strings, numbers (non-finite: null), booleans, null
  }
}
}  // namespace

Json exact(core::i128 value) {
  if (value >= std::numeric_limits<std::int64_t>::min() && value <= std::numeric_limits<std::int64_t>::max())
    return std::int64_t(value);
  Json::binary_t::container_type bytes(16);
  const auto bits = core::u128(value);
  for (std::size_t i = 0; i < 16; ++i) bytes[i] = static_cast<std::uint8_t>(bits >> (8 * i));
  return Json::binary(std::move(bytes), kExactSubtype);
}

std::string dump(const Json& value) {
  std::string out;
  write(value, out);
  return out;
}

}  // namespace tally::io
