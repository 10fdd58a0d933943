// The shared command line of ember-submit and ember-driver. They differ only
// in defaults: ember-submit is for people at a terminal (quiet logs, a
// progress line, a generated secret in local modes); ember-driver is what a
// driver pod runs (info logs, secret required outside local mode).
#pragma once

#include <vector>

#include "common/flags.h"

namespace ember::cli {

enum class DriverFlavor { kSubmit, kDriver };

// The flags both binaries take.
std::vector<FlagSpec> DriverFlags();

// main() of either binary.
int DriverMain(DriverFlavor flavor, int argc, const char* const* argv);

}  // namespace ember::cli
