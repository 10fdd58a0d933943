// `ember-operator --check-url`: a readiness check for places with no curl,
// such as the chart's `helm test` pod, which runs the operator image itself.
//
// Thread-safety: a plain function; blocks the caller.
#pragma once

#include <chrono>
#include <string>

#include "ember/status.h"

namespace ember::operator_cli {

// GETs `url` (http or https, with the system's CA certificates) until it
// answers 200 with a body containing `contains`, or `timeout` passes.
// The error names the URL and what the last attempt saw.
Status CheckUrl(const std::string& url, const std::string& contains,
                std::chrono::milliseconds timeout);

}  // namespace ember::operator_cli
