#pragma once
// How every subcommand reads its options, the same way for each kind of value:
// integers are decimal only (CLI11 alone reads "010" as octal 8 and "0x10" as 16) and
// reported as typed when out of range; numbers of seconds are finite and bounded (a NaN
// passes every comparison, so CLI::Range alone would let it through); enumerated
// options are checked by CLI::IsMember, which also lists the choices in --help.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "io/file_locking.hpp"
#include "parallel/settings.hpp"

namespace tally::app {

/// A decimal integer in [min, max] (a leading '+' or '-' allowed, nothing else). The
/// text is rewritten without leading zeros, so CLI11's conversion then reads it as
/// decimal: add it with ->transform (->check would discard the rewrite). `max_text` names the upper bound in messages (e.g. "2^63-1").
[[nodiscard]] CLI::Validator decimal(std::int64_t min, std::int64_t max, const std::string& max_text = {});
/// Unsigned 64-bit counterpart, for options held in std::uint64_t.
[[nodiscard]] CLI::Validator decimal_u64();

/// A finite decimal number in [min, max] (no nan, inf or hex floats); with
/// `zero_means` non-empty, 0 is accepted too and the message says what it means.
[[nodiscard]] CLI::Validator finite(double min, double max, const std::string& unit, const std::string& zero_means = {});

/// Names of an enumerated option, in the order --help lists them.
template <typename E>
using Choices = std::vector<std::pair<std::string, E>>;

inline const Choices<core::StreamKind> kStreams{{"fast", core::StreamKind::kFast},
                                               {"numpy", core::StreamKind::kNumpy}};
inline const Choices<parallel::ResumePolicy> kResumePolicies{{"auto", parallel::ResumePolicy::kAuto},
                                                            {"require", parallel::ResumePolicy::kRequire},
                                                            {"never", parallel::ResumePolicy::kNever}};
inline const Choices<io::FileLocking> kFileLocking{{"on", io::FileLocking::kOn},
                                                  {"off", io::FileLocking::kOff},
                                                  {"best-effort", io::FileLocking::kBestEffort}};

/// Adds `--name CHOICE` that sets `target`; CLI::IsMember refuses any other word
/// ("--stream: mt19937 not in {fast,numpy}") and --help shows "{fast,numpy}".
template <typename E>
CLI::Option* add_choice(CLI::App* app, const std::string& name, E& target, const Choices<E>& choices,
                        const std::string& help) {
  std::string shown;
  for (const auto& [word, value] : choices)
    if (value == target) shown = word;
  CLI::Option* option = app->add_option_function<std::string>(
      name,
      [&target, choices](const std::string& word) {
        for (const auto& [known, value] : choices)
          if (known == word) target = value;
      },
      help);
  option->check(CLI::IsMember(choices))->default_str(shown);
  return option;
}

}  // namespace tally::app
