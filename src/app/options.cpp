#include "app/options.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "core/types.hpp"

namespace tally::app {

namespace {

/// The value of "[+-]digits", or false when the text is not that or passes ±2^64.
bool read_decimal(const std::string& text, core::i128& value) {
  std::size_t at = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) at = 1;
  if (at == text.size()) return false;
  core::i128 magnitude = 0;
  for (; at < text.size(); ++at) {
    if (text[at] < '0' || text[at] > '9') return false;
    magnitude = magnitude * 10 + (text[at] - '0');
    if (magnitude > (core::i128(1) << 64)) return false;  // far past every bound: stop before i128 overflows
  }
  value = negative ? -magnitude : magnitude;
  return true;
}

CLI::Validator decimal_between(core::i128 min, core::i128 max, const std::string& max_text) {
  const std::string bounds = fmt::format("{} to {}", min, max_text.empty() ? fmt::format("{}", max) : max_text);
  return CLI::Validator(
      [min, max, bounds](std::string& text) -> std::string {
        core::i128 value = 0;
        if (!read_decimal(text, value) || value < min || value > max)
          return "must be a decimal integer from " + bounds + ", not '" + text + "'";
        text = fmt::format("{}", value);  // no leading zeros: CLI11 reads "010" as octal
        return {};
      },
      bounds);
}

}  // namespace

CLI::Validator decimal(std::int64_t min, std::int64_t max, const std::string& max_text) {
  return decimal_between(min, max, max_text);
}

CLI::Validator decimal_u64() {
  return decimal_between(0, std::numeric_limits<std::uint64_t>::max(), "2^64-1");
}

CLI::Validator finite(double min, double max, const std::string& unit, const std::string& zero_means) {
  const std::string bounds = (zero_means.empty() ? "" : "0 (" + zero_means + ") or ") +
                             fmt::format("{:g} to {:g}", min, max) + (unit.empty() ? "" : " " + unit);
  return CLI::Validator(
      [min, max, zero_means, bounds](std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        // from_chars (general format) takes no hex floats, no leading '+' and no spaces;
        // it does take "nan" and "inf", hence the isfinite.
        const auto [stop, error] = std::from_chars(text.data(), end, value, std::chars_format::general);
        const bool number = error == std::errc() && stop == end && std::isfinite(value);
        if (number && ((value == 0 && !zero_means.empty()) || (value >= min && value <= max))) return {};
        return "must be a finite number, " + bounds + ", not '" + text + "'";
      },
      bounds);
}

}  // namespace tally::app
