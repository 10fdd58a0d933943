// ember-driver: the driver process, as a driver pod runs it.
#include "runtime/cli/driver_command.h"

int main(int argc, char** argv) {
  return ember::cli::DriverMain(ember::cli::DriverFlavor::kDriver, argc, argv);
}
