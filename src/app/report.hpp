#pragma once
// How a RunRecord is shown: a banner-style summary for people, one JSON object for
// machines. `tally run` and `tally inspect` print the same things the same way.
#include <string>

#include "io/run_record.hpp"

namespace tally::app {

void print_run_summary(const io::RunRecord& record, const std::string& file, int exit_code);
void print_run_json(const io::RunRecord& record, const std::string& file, int exit_code);
/// `text` as a quoted JSON string.
[[nodiscard]] std::string json_string(const std::string& text);
/// The JSON object without a trailing newline (for embedding).
[[nodiscard]] std::string run_json(const io::RunRecord& record, const std::string& file, int exit_code);

}  // namespace tally::app
