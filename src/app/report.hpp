#pragma once
// How a RunRecord is shown: a banner-style summary for people, one JSON object for
// machines. `tally run` and `tally inspect` print the same things the same way.
#include <string>

#include "io/json.hpp"
#include "io/run_record.hpp"

namespace tally::app {

void print_run_summary(const io::RunRecord& record, const std::string& file, int exit_code);
void print_run_json(const io::RunRecord& record, const std::string& file, int exit_code);
/// The record as one JSON object (exact integers, every string escaped).
[[nodiscard]] io::Json run_json(const io::RunRecord& record, const std::string& file, int exit_code);

}  // namespace tally::app
