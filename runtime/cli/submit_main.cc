// ember-submit: run an Ember application from a terminal or a script.
#include "runtime/cli/driver_command.h"

int main(int argc, char** argv) {
  return ember::cli::DriverMain(ember::cli::DriverFlavor::kSubmit, argc, argv);
}
