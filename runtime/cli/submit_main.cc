// ember-submit: run an Ember application from a terminal or a script; with
// --master k8s://..., run it on a cluster through the operator.
#include <string_view>

#include "operator/submit/k8s_submit.h"
#include "runtime/cli/driver_command.h"

namespace {

// Whether `name` (without dashes) is a switch, taking no value, in either
// mode's flags.
bool IsSwitch(std::string_view name) {
  for (const auto& flags : {ember::cli::DriverFlags(), ember::submit::KubernetesFlags()}) {
    for (const ember::cli::FlagSpec& f : flags) {
      if (f.name == name) return f.value_name.empty();
    }
  }
  return false;
}

// The master decides the mode before any other flag is read, since the two
// modes take different flags. It may come anywhere among the flags, as with
// spark-submit; the application's path ends them, and what follows is the
// application's own.
bool ClusterMode(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg.rfind("--master=", 0) == 0) return ember::submit::IsKubernetesMaster(arg.substr(9));
    if (arg == "--master") return i + 1 < argc && ember::submit::IsKubernetesMaster(argv[i + 1]);
    if (arg.rfind("--", 0) != 0) return false;  // the application: flags end here
    if (arg.find('=') == std::string_view::npos && !IsSwitch(arg.substr(2))) ++i;  // its value
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (ClusterMode(argc, argv)) return ember::submit::KubernetesMain(argc, argv);
  return ember::cli::DriverMain(ember::cli::DriverFlavor::kSubmit, argc, argv);
}
